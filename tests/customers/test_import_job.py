"""The confirmed import runs as an RQ job on real Redis and records progress and the report."""

import io

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from helpdesk.customers import jobs
from helpdesk.customers.models import Customer, ImportJob, ImportStatus, Tag
from helpdesk.queue import IMPORT_QUEUE
from tests.helpers import post_form


def upload(client, content: bytes, kind="customers") -> int:
    response = post_form(
        client,
        "/customers/import",
        {"kind": kind, "file": (io.BytesIO(content), "customers.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.data[:1000]
    return int(response.headers["Location"].split("/")[-2])


def work(redis_conn):
    queue = Queue(IMPORT_QUEUE, connection=redis_conn)
    SimpleWorker([queue], connection=redis_conn).work(burst=True)


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_confirmed_import_runs_in_the_worker_and_reports(admin_client, session, redis_conn):
    rows = "".join(f"user{i}@example.com,User {i},vip\n" for i in range(2500))
    import_id = upload(admin_client, f"email,name,tags\n{rows}bad-address,Bad,\n".encode())

    response = post_form(admin_client, f"/customers/import/{import_id}/start")
    assert response.status_code == 302
    assert Queue(IMPORT_QUEUE, connection=redis_conn).count == 1
    waiting = admin_client.get(f"/customers/import/{import_id}")
    assert b"data-poll-url" in waiting.data
    assert b"data-poll-done" not in waiting.data

    work(redis_conn)

    job = session.get(ImportJob, import_id)
    assert job.status is ImportStatus.done
    assert (job.total_rows, job.processed_rows) == (2501, 2501)
    assert (job.created_count, job.updated_count, job.error_count) == (2500, 0, 1)
    assert job.errors[0]["line"] == 2502
    assert count(session, Customer) == 2500
    assert count(session, Tag) == 1
    session.rollback()  # SQLite: end the read transaction before the app writes
    progress = admin_client.get(f"/customers/import/{import_id}/progress")
    assert b"data-poll-done" in progress.data
    assert b"2500 new, 0 updated, 1 skipped" in progress.data
    report = admin_client.get(f"/customers/import/{import_id}/errors.csv").data.decode("utf-8-sig")
    assert "2502,email," in report


def test_starting_twice_queues_the_import_once(admin_client, redis_conn):
    import_id = upload(admin_client, b"email\nkim@example.com\n")
    post_form(admin_client, f"/customers/import/{import_id}/start")
    post_form(admin_client, f"/customers/import/{import_id}/start")
    assert Queue(IMPORT_QUEUE, connection=redis_conn).count == 1


def test_running_the_job_again_changes_nothing(admin_client, session, redis_conn):
    import_id = upload(admin_client, b"email,name\nkim@example.com,Kim\nlee@example.com,Lee\n")
    post_form(admin_client, f"/customers/import/{import_id}/start")
    work(redis_conn)
    jobs.run_import(import_id)
    session.expire_all()
    job = session.get(ImportJob, import_id)
    assert (job.status, job.created_count, job.updated_count) == (ImportStatus.done, 2, 0)
    assert count(session, Customer) == 2


def test_interrupted_job_resumes_after_the_last_committed_batch(admin_client, session):
    import_id = upload(admin_client, b"email\na@example.com\nb@example.com\nc@example.com\n")
    job = session.get(ImportJob, import_id)
    # As a crash leaves it: the first row's batch committed with its progress, then nothing.
    session.add(Customer(email="a@example.com", name="Before crash"))
    job.status, job.processed_rows, job.created_count, job.total_rows = (
        ImportStatus.running,
        1,
        1,
        3,
    )
    session.commit()
    jobs.run_import(import_id)
    session.expire_all()
    assert (job.status, job.created_count, job.processed_rows) == (ImportStatus.done, 3, 3)
    assert session.scalars(
        select(Customer.name).where(Customer.email == "a@example.com")
    ).one() == ("Before crash")
    assert count(session, Customer) == 3


def test_show_page_of_an_unstarted_import_leads_back_to_the_preview(admin_client, redis_conn):
    import_id = upload(admin_client, b"email\nkim@example.com\n")
    response = admin_client.get(f"/customers/import/{import_id}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/customers/import/{import_id}/preview")


@pytest.fixture
def worker_stopping():
    """The flag a work horse sets when its worker is asked to stop."""
    from helpdesk import queue

    queue.request_stop()
    yield
    queue._stop.clear()


def test_an_import_stops_after_a_batch_when_the_worker_stops_and_a_new_job_resumes_it(
    admin_client, session, redis_conn, worker_stopping
):
    from helpdesk import queue

    rows = "".join(f"user{i}@example.com,User {i}\n" for i in range(5001))
    import_id = upload(admin_client, f"email,name\n{rows}".encode())
    post_form(admin_client, f"/customers/import/{import_id}/start")

    SimpleWorker([IMPORT_QUEUE], connection=redis_conn).work(burst=True, max_jobs=1)

    job = session.get(ImportJob, import_id)
    assert (job.status, job.processed_rows) == (ImportStatus.queued, 5000)
    assert count(session, Customer) == 5000
    assert Queue(IMPORT_QUEUE, connection=redis_conn).count == 1
    session.rollback()

    queue._stop.clear()
    work(redis_conn)

    session.expire_all()
    job = session.get(ImportJob, import_id)
    assert (job.status, job.processed_rows, job.created_count) == (ImportStatus.done, 5001, 5001)
    assert count(session, Customer) == 5001
