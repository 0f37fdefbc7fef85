"""The import pages: upload checks, the dry-run preview, roles, and refusing bad files."""

import io

import pytest
from sqlalchemy import func, select

from helpdesk import create_app
from helpdesk.customers.models import Customer, ImportJob, ImportStatus
from tests.helpers import login, post_form

GOOD = b"email,name\nkim@example.com,Kim\nnot-an-email,Bad\nlee@example.com,Lee\n"


def upload(client, content: bytes | None, kind="customers", filename="customers.csv"):
    data = {"kind": kind}
    if content is not None:
        data["file"] = (io.BytesIO(content), filename)
    return post_form(client, "/customers/import", data, content_type="multipart/form-data")


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("role_client", ["admin_client", "agent_client", "marketer_client"])
def test_every_staff_role_may_open_the_upload_form(app, request, role_client):
    client = request.getfixturevalue(role_client)
    response = client.get("/customers/import")
    assert response.status_code == 200
    assert b'enctype="multipart/form-data"' in response.data


def test_upload_form_needs_login(client):
    assert client.get("/customers/import").status_code == 302


def test_upload_shows_preview_with_counts_and_bad_line(admin_client, session):
    response = upload(admin_client, GOOD)
    assert response.status_code == 302
    preview = admin_client.get(response.headers["Location"])
    assert preview.status_code == 200
    assert b'data-count="new">2<' in preview.data
    assert b'data-count="errors">1<' in preview.data
    assert b"&#34;not-an-email&#34; is not a valid email address" in preview.data or (
        "“not-an-email” is not a valid email address".encode() in preview.data
    )
    assert b'<td class="num">3</td>' in preview.data
    assert count(session, Customer) == 0, "the preview is a dry run"


def test_upload_without_file_is_refused(admin_client, session):
    response = upload(admin_client, None)
    assert response.status_code == 400
    assert b"Choose a CSV file to upload." in response.data
    assert count(session, ImportJob) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", b"The file is empty."),
        (b"email,name\n", b"header row but no data rows"),
        (b"PK\x03\x04\x00\x00binary", b"This is not a CSV text file"),
        (b"name,phone\nKim,010\n", b"missing the required column(s): email"),
        (
            b"email,shoe_size\nkim@example.com,270\n",
            b"Unknown column(s) in the header row: shoe_size",
        ),
    ],
)
def test_bad_file_is_refused_with_a_clear_message(admin_client, session, content, message):
    response = upload(admin_client, content)
    assert response.status_code == 400
    assert message in response.data
    assert count(session, ImportJob) == 0
    assert count(session, Customer) == 0


def test_purchase_file_with_customer_columns_is_refused(admin_client, session):
    response = upload(admin_client, GOOD, kind="purchases")
    assert response.status_code == 400
    assert b"missing the required column(s): product, amount, currency, date" in response.data


def test_file_over_the_size_limit_is_refused(config, session, admin):
    app = create_app(config.with_overrides(import_max_bytes=1024))
    client = app.test_client()
    login(client, admin.email)
    response = upload(client, b"email\n" + b"someone@example.com\n" * 200)
    assert response.status_code == 413
    assert b"larger than the limit" in response.data
    assert count(session, ImportJob) == 0


def test_upload_without_csrf_token_is_refused(admin_client, session):
    response = admin_client.post(
        "/customers/import",
        data={"kind": "customers", "file": (io.BytesIO(GOOD), "c.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert count(session, ImportJob) == 0


def test_discarding_a_preview_removes_the_upload(admin_client, session):
    location = upload(admin_client, GOOD).headers["Location"]
    import_id = int(location.split("/")[-2])
    response = post_form(admin_client, f"/customers/import/{import_id}/discard")
    assert response.status_code == 302
    assert count(session, ImportJob) == 0
    assert count(session, Customer) == 0


def test_error_report_of_a_preview_downloads_as_csv(admin_client):
    location = upload(admin_client, GOOD).headers["Location"]
    import_id = int(location.split("/")[-2])
    response = admin_client.get(f"/customers/import/{import_id}/errors.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.data.decode("utf-8-sig")
    assert text.splitlines()[0] == "line,column,error"
    assert text.splitlines()[1].startswith("3,email,")


def test_unknown_import_is_not_found(admin_client):
    assert admin_client.get("/customers/import/999999/preview").status_code == 404


def test_an_upload_waits_as_pending_until_it_is_confirmed(admin_client, session, redis_conn):
    location = upload(admin_client, GOOD).headers["Location"]
    import_id = int(location.split("/")[-2])
    assert session.get(ImportJob, import_id).status is ImportStatus.pending
    session.rollback()
    post_form(admin_client, f"/customers/import/{import_id}/start")
    session.expire_all()
    assert session.get(ImportJob, import_id).status is ImportStatus.queued
    session.rollback()
    # Once queued, the preview and its Cancel button are gone.
    response = admin_client.get(f"/customers/import/{import_id}/preview")
    assert response.headers["Location"].endswith(f"/customers/import/{import_id}")


def test_a_started_import_cannot_be_discarded(admin_client, session, redis_conn):
    location = upload(admin_client, GOOD).headers["Location"]
    import_id = int(location.split("/")[-2])
    post_form(admin_client, f"/customers/import/{import_id}/start")
    response = post_form(admin_client, f"/customers/import/{import_id}/discard")
    assert response.headers["Location"].endswith(f"/customers/import/{import_id}")
    assert count(session, ImportJob) == 1


def test_the_purchases_link_preselects_purchases(agent_client):
    response = agent_client.get("/customers/import?kind=purchases")
    assert '<option selected value="purchases">' in response.text
