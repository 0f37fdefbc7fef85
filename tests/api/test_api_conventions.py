"""Conventions every route shares, over real HTTP: Idempotency-Key replay and mismatch,
rate limits with their headers, problem+json for unknown URLs and methods."""

from __future__ import annotations

from helpdesk.customers.models import Customer
from tests.api.conftest import bearer
from tests.factories import make_api_token


def _auth(session, user, **overrides):
    return bearer(make_api_token(session, user, scopes=["customers:write"], **overrides))


def test_same_idempotency_key_and_body_replays_the_first_response(api, session, agent):
    auth = _auth(session, agent) | {"Idempotency-Key": "order-1"}
    first = api.post("/customers", headers=auth, json={"email": "a@example.com"})

    again = api.post("/customers", headers=auth, json={"email": "a@example.com"})

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    session.rollback()
    assert session.query(Customer).count() == 1


def test_same_idempotency_key_with_another_body_is_refused(api, session, agent):
    auth = _auth(session, agent) | {"Idempotency-Key": "order-1"}
    api.post("/customers", headers=auth, json={"email": "a@example.com"})

    response = api.post("/customers", headers=auth, json={"email": "b@example.com"})

    assert response.status_code == 422
    assert response.json()["title"] == "Idempotency key reused"
    session.rollback()
    assert session.query(Customer).count() == 1


def test_idempotency_keys_belong_to_their_token(api, session, agent, admin):
    key = {"Idempotency-Key": "same"}
    api.post("/customers", headers=_auth(session, agent) | key, json={"email": "a@example.com"})

    response = api.post(
        "/customers", headers=_auth(session, admin) | key, json={"email": "b@example.com"}
    )

    assert response.status_code == 201


def test_a_refused_request_does_not_use_up_its_key(api, session, agent):
    auth = _auth(session, agent) | {"Idempotency-Key": "k"}
    api.post("/customers", headers=auth, json={"email": "bad"})

    response = api.post("/customers", headers=auth, json={"email": "bad"})

    assert response.status_code == 422
    assert "errors" in response.json()


def test_responses_carry_rate_limit_headers(api, session, agent):
    auth = _auth(session, agent, rate_limit=5)

    response = api.get("/customers", headers=auth)

    assert response.status_code == 403  # a write-only token, but the request counted
    assert response.headers["ratelimit-limit"] == "5"
    assert response.headers["ratelimit-remaining"] == "4"
    assert 1 <= int(response.headers["ratelimit-reset"]) <= 60


def test_requests_over_the_limit_get_429_with_retry_after(api, session, agent):
    auth = _auth(session, agent, rate_limit=3)
    statuses = [
        api.post("/customers", headers=auth, json={"email": f"c{n}@example.com"}).status_code
        for n in range(4)
    ]

    assert statuses == [201, 201, 201, 429]
    blocked = api.post("/customers", headers=auth, json={"email": "x@example.com"})
    assert blocked.headers["content-type"] == "application/problem+json"
    assert int(blocked.headers["retry-after"]) >= 1
    session.rollback()
    assert session.query(Customer).count() == 3


def test_limits_are_per_token(api, session, agent):
    spent = _auth(session, agent, rate_limit=1)
    api.post("/customers", headers=spent, json={"email": "a@example.com"})

    other = api.post(
        "/customers", headers=_auth(session, agent, rate_limit=1), json={"email": "b@example.com"}
    )

    assert other.status_code == 201


def test_unknown_api_url_is_a_problem(api):
    response = api.get("/no-such-thing")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_unsupported_method_is_a_problem(api):
    response = api.delete("/customers")

    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"


def test_openapi_document_lists_every_route_with_its_schemas(api):
    document = api.get("/openapi.json").json()

    assert document["openapi"].startswith("3.1")
    assert "/customers/{customer_id}" in document["paths"]
    assert "/purchases/batch" in document["paths"]
    assert {"CustomerOut", "CustomerIn", "OrderBatchIn", "ProblemBody"} <= set(
        document["components"]["schemas"]
    )


def test_reference_page_is_served_without_outside_scripts(api):
    response = api.get("/docs")

    assert response.status_code == 200
    assert "PATCH /customers/{customer_id}" in response.text
    assert "https://" not in response.text
