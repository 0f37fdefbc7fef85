"""Conditional GET over real HTTP: a GET that answers with an ETag answers If-None-Match
with 304 and no body while the record is unchanged, and tells clients to revalidate."""

from __future__ import annotations

from tests.api.conftest import bearer
from tests.factories import make_api_token, make_customer, make_ticket


def _reader(session, user, scope="customers:read"):
    return bearer(make_api_token(session, user, scopes=[scope]))


def test_an_unchanged_customer_is_not_sent_again(api, session, agent):
    customer = make_customer(session, email="a@example.com")
    auth = _reader(session, agent)
    etag = api.get(f"/customers/{customer.id}", headers=auth).headers["etag"]

    response = api.get(f"/customers/{customer.id}", headers=auth | {"If-None-Match": etag})

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag


def test_a_changed_customer_is_sent_in_full(api, session, agent):
    customer = make_customer(session, email="a@example.com")
    auth = _reader(session, agent)
    etag = api.get(f"/customers/{customer.id}", headers=auth).headers["etag"]
    customer.company = "Acme"
    session.commit()

    response = api.get(f"/customers/{customer.id}", headers=auth | {"If-None-Match": etag})

    assert response.status_code == 200
    assert response.json()["company"] == "Acme"
    assert response.headers["etag"] != etag


def test_the_weak_form_of_the_etag_matches(api, session, agent):
    customer = make_customer(session, email="a@example.com")
    auth = _reader(session, agent)
    etag = api.get(f"/customers/{customer.id}", headers=auth).headers["etag"]

    response = api.get(
        f"/customers/{customer.id}", headers=auth | {"If-None-Match": f'"other", W/{etag}'}
    )

    assert response.status_code == 304


def test_a_star_matches_any_existing_record(api, session, agent):
    customer = make_customer(session, email="a@example.com")

    response = api.get(
        f"/customers/{customer.id}", headers=_reader(session, agent) | {"If-None-Match": "*"}
    )

    assert response.status_code == 304


def test_a_missing_record_is_404_whatever_if_none_match_says(api, session, agent):
    response = api.get("/customers/999", headers=_reader(session, agent) | {"If-None-Match": "*"})

    assert response.status_code == 404


def test_a_ticket_with_its_messages_is_revalidated_too(api, session, agent):
    ticket = make_ticket(session)
    auth = _reader(session, agent, "tickets:read")
    etag = api.get(f"/tickets/{ticket.id}", headers=auth).headers["etag"]

    response = api.get(f"/tickets/{ticket.id}", headers=auth | {"If-None-Match": etag})

    assert response.status_code == 304


def test_a_get_with_an_etag_asks_clients_to_revalidate(api, session, agent):
    customer = make_customer(session, email="a@example.com")

    response = api.get(f"/customers/{customer.id}", headers=_reader(session, agent))

    assert response.headers["cache-control"] == "private, no-cache"


def test_lists_and_errors_are_not_stored(api, session, agent):
    auth = _reader(session, agent)

    listed = api.get("/customers", headers=auth)
    missing = api.get("/customers/999", headers=auth)

    assert listed.headers["cache-control"] == missing.headers["cache-control"] == "no-store"


def test_the_document_lists_the_304_of_each_get_with_an_etag(api):
    operation = api.get("/openapi.json").json()["paths"]["/customers/{customer_id}"]["get"]

    assert "304" in operation["responses"]
    assert "If-None-Match" in [p["name"] for p in operation["parameters"]]
