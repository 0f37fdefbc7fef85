"""Idempotency-Key reservations and expiry over real HTTP: a key is held while its first
request runs (a duplicate gets 409 and never runs the change), a reservation left by a
dead request is taken over, a refused request frees its key, keys expire and an hourly
job forgets them."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import pytest
from rq import Queue
from sqlalchemy import func, select

from helpdesk.api.idempotency import request_hash
from helpdesk.api.jobs import forget_expired_idempotency_keys, queue_idempotency_cleanup
from helpdesk.api.models import IdempotentResponse
from helpdesk.customers.models import Customer
from helpdesk.queue import DEFAULT_QUEUE
from tests.api.conftest import bearer
from tests.factories import make_api_token, make_idempotency_key

BODY = b'{"email": "a@example.com"}'
FINGERPRINT = request_hash("POST", "/api/v1/customers", BODY)
LEASE = timedelta(seconds=300)  # API_IDEMPOTENCY_LEASE_SECONDS's default
TTL = timedelta(hours=24)  # API_IDEMPOTENCY_TTL_HOURS's default


def _post(api, auth, key, body=BODY):
    headers = auth | {"Idempotency-Key": key, "Content-Type": "application/json"}
    return api.post("/customers", headers=headers, content=body)


def _customers(session) -> int:
    session.rollback()
    return session.scalar(select(func.count(Customer.id)))


def _keys(session) -> list[tuple[str, int | None]]:
    session.rollback()
    return list(
        session.execute(
            select(IdempotentResponse.key, IdempotentResponse.status_code).order_by(
                IdempotentResponse.key
            )
        ).tuples()
    )


@pytest.fixture
def auth(session, agent):
    return bearer(make_api_token(session, agent, scopes=["customers:write"]))


def test_a_duplicate_sent_while_the_first_runs_is_told_to_retry(api, session, auth):
    make_idempotency_key(session, "k", FINGERPRINT)

    response = _post(api, auth, "k")

    assert response.status_code == 409
    assert response.headers["retry-after"] == "1"
    assert _customers(session) == 0


def test_a_reservation_left_by_a_dead_request_is_taken_over(api, session, auth):
    make_idempotency_key(session, "k", FINGERPRINT, age=LEASE + timedelta(minutes=1))

    response = _post(api, auth, "k")

    assert response.status_code == 201
    assert _customers(session) == 1
    assert _keys(session) == [("k", 201)]


def test_a_refused_request_frees_its_key(api, session, auth):
    response = _post(api, auth, "k", b'{"email": "bad"}')

    assert response.status_code == 422
    assert _keys(session) == []


def test_an_expired_key_serves_a_new_request(api, session, auth):
    make_idempotency_key(
        session, "k", "another request", status_code=201, age=TTL + timedelta(minutes=1)
    )

    response = _post(api, auth, "k")

    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers
    assert _customers(session) == 1


def test_a_key_within_its_time_to_live_is_still_held(api, session, auth):
    make_idempotency_key(
        session, "k", "another request", status_code=201, age=TTL - timedelta(minutes=5)
    )

    response = _post(api, auth, "k")

    assert response.status_code == 422
    assert _customers(session) == 0


def test_the_cleanup_forgets_expired_keys_only(session, auth, worker_env):
    make_idempotency_key(session, "old", "x", status_code=201, age=TTL + timedelta(minutes=1))
    make_idempotency_key(session, "new", "x", status_code=201, age=TTL - timedelta(minutes=1))

    assert forget_expired_idempotency_keys() == 1
    assert _keys(session) == [("new", 201)]


def test_the_worker_queues_the_cleanup_once_an_hour(redis_conn):
    assert queue_idempotency_cleanup(redis_conn) is True
    assert queue_idempotency_cleanup(redis_conn) is False
    [job] = Queue(DEFAULT_QUEUE, connection=redis_conn).get_jobs()
    assert job.func_name == "helpdesk.api.jobs.forget_expired_idempotency_keys"
    assert 3500 < redis_conn.ttl("helpdesk:api:idempotency-cleanup") <= 3600


def test_concurrent_posts_with_one_key_run_the_change_once(
    api_server, api, session, auth, database_url
):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writer at a time; the race is PostgreSQL's")
    threads = 8
    for round_ in range(3):
        key = f"race-{round_}"
        body = f'{{"email": "race{round_}@example.com"}}'.encode()
        start = threading.Barrier(threads)
        responses: list[httpx.Response] = []

        def send(key=key, body=body, start=start, responses=responses):
            with httpx.Client(base_url=f"{api_server}/api/v1", timeout=30) as client:
                start.wait()
                responses.append(_post(client, auth, key, body))

        workers = [threading.Thread(target=send) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

        created = [r for r in responses if r.status_code == 201]
        waiting = [r for r in responses if r.status_code == 409]
        assert len(created) + len(waiting) == threads, [r.status_code for r in responses]
        assert created and len({r.text for r in created}) == 1
        assert all(r.headers["retry-after"] == "1" for r in waiting)
    assert _customers(session) == 3
