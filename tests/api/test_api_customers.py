"""/customers over real HTTP: the same rules as the pages, refusals that name the field
and change nothing, filters, upserts, tags, custom fields and the timeline."""

from __future__ import annotations

import pytest

from helpdesk.customers import service
from helpdesk.customers.models import Customer
from tests.api.conftest import bearer
from tests.factories import make_api_token

SCOPES = ["customers:read", "customers:write"]


@pytest.fixture
def auth(session, agent):
    return bearer(make_api_token(session, agent, scopes=SCOPES))


def _create(api, auth, **fields):
    response = api.post("/customers", headers=auth, json={"email": "kim@example.com"} | fields)
    assert response.status_code == 201, response.text
    return response.json()


def _count(session) -> int:
    session.rollback()
    return session.query(Customer).count()


def test_created_customer_is_returned_with_an_etag_and_can_be_read(api, auth):
    created = _create(api, auth, name="Kim Minji", tags=["vip"])

    response = api.get(f"/customers/{created['id']}", headers=auth)

    assert response.json() == created
    assert response.headers["etag"]
    assert created["tags"] == ["vip"]
    assert created["created_at"].endswith("Z")


def test_invalid_email_is_refused_naming_the_field_and_nothing_is_stored(api, auth, session):
    response = api.post("/customers", headers=auth, json={"email": "not an address"})

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["email"]
    assert _count(session) == 0


def test_unknown_property_is_refused_naming_it(api, auth, session):
    response = api.post("/customers", headers=auth, json={"email": "a@example.com", "x": 1})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "x"
    assert _count(session) == 0


def test_body_that_is_not_json_is_refused(api, auth):
    response = api.post(
        "/customers", headers=auth | {"content-type": "application/json"}, content=b"{"
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_duplicate_email_in_another_case_is_refused(api, auth, session):
    _create(api, auth)

    response = api.post("/customers", headers=auth, json={"email": "KIM@example.com"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "email"
    assert _count(session) == 1


def test_custom_field_values_are_typed_and_validated_like_the_form(api, auth, session):
    service.create_custom_field(
        session, service.CustomFieldData(key="orders", label="Orders", field_type="number")
    )
    session.commit()

    refused = api.post(
        "/customers", headers=auth, json={"email": "a@example.com", "fields": {"orders": "many"}}
    )
    stored = _create(api, auth, fields={"orders": 3})

    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "fields.orders"
    assert stored["fields"] == {"orders": 3}


def test_patch_changes_only_the_given_fields(api, auth):
    created = _create(api, auth, name="Kim Minji", company="Acme", tags=["vip"])
    etag = api.get(f"/customers/{created['id']}", headers=auth).headers["etag"]

    response = api.patch(
        f"/customers/{created['id']}", headers=auth | {"If-Match": etag}, json={"company": "Beta"}
    )

    assert response.status_code == 200
    assert response.json()["company"] == "Beta"
    assert response.json()["name"] == "Kim Minji"
    assert response.json()["tags"] == ["vip"]
    assert response.headers["etag"] != etag


def test_patch_with_a_stale_etag_gets_412_and_changes_nothing(api, auth):
    created = _create(api, auth)
    stale = api.get(f"/customers/{created['id']}", headers=auth).headers["etag"]
    api.patch(f"/customers/{created['id']}", headers=auth | {"If-Match": stale}, json={"name": "A"})

    response = api.patch(
        f"/customers/{created['id']}", headers=auth | {"If-Match": stale}, json={"name": "B"}
    )

    assert response.status_code == 412
    assert api.get(f"/customers/{created['id']}", headers=auth).json()["name"] == "A"


def test_patch_without_if_match_gets_428(api, auth):
    created = _create(api, auth)

    response = api.patch(f"/customers/{created['id']}", headers=auth, json={"name": "B"})

    assert response.status_code == 428


def test_subscribing_over_the_api_records_consent(api, auth):
    created = _create(api, auth)
    etag = api.get(f"/customers/{created['id']}", headers=auth).headers["etag"]

    response = api.patch(
        f"/customers/{created['id']}",
        headers=auth | {"If-Match": etag},
        json={"subscription_status": "subscribed"},
    )

    assert response.json()["subscription_status"] == "subscribed"
    assert response.json()["consent_at"] is not None


def test_upsert_by_external_id_creates_then_updates(api, auth, session):
    first = api.put(
        "/customers/by-external-id/shop-7", headers=auth, json={"email": "a@example.com"}
    )
    second = api.put("/customers/by-external-id/shop-7", headers=auth, json={"name": "Lee"})

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["email"] == "a@example.com"
    assert _count(session) == 1


def test_upsert_by_email_matches_any_case(api, auth, session):
    created = _create(api, auth)

    response = api.put("/customers/by-email/KIM@example.com", headers=auth, json={"phone": "010"})

    assert response.status_code == 200
    assert response.json()["id"] == created["id"]
    assert _count(session) == 1


def test_tags_are_added_and_removed(api, auth):
    created = _create(api, auth, tags=["vip"])

    added = api.post(f"/customers/{created['id']}/tags", headers=auth, json={"tags": ["b2b"]})
    removed = api.delete(f"/customers/{created['id']}/tags/vip", headers=auth)

    assert added.json()["tags"] == ["b2b", "vip"]
    assert removed.json()["tags"] == ["b2b"]


def test_list_filters_by_tag_email_and_change_time(api, auth):
    _create(api, auth, email="a@example.com", tags=["vip"])
    b = _create(api, auth, email="b@example.com")

    by_tag = api.get("/customers", headers=auth, params={"tag": "vip"}).json()["data"]
    by_email = api.get("/customers", headers=auth, params={"email": "B@example.com"}).json()
    since = api.get("/customers", headers=auth, params={"updated_since": b["updated_at"]}).json()[
        "data"
    ]

    assert [c["email"] for c in by_tag] == ["a@example.com"]
    assert [c["email"] for c in by_email["data"]] == ["b@example.com"]
    assert "b@example.com" in [c["email"] for c in since]


def test_list_by_custom_field_value(api, auth, session):
    service.create_custom_field(
        session, service.CustomFieldData(key="plan", label="Plan", field_type="text")
    )
    session.commit()
    _create(api, auth, email="a@example.com", fields={"plan": "Gold"})
    _create(api, auth, email="b@example.com", fields={"plan": "Free"})

    response = api.get("/customers", headers=auth, params={"field": "plan", "value": "gold"})

    assert [c["email"] for c in response.json()["data"]] == ["a@example.com"]


def test_list_by_unknown_custom_field_is_refused_naming_it(api, auth):
    response = api.get("/customers", headers=auth, params={"field": "nope", "value": "x"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "field"


def test_cursor_pages_cover_every_customer_once(api, auth):
    for n in range(5):
        _create(api, auth, email=f"c{n}@example.com")
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api.get("/customers", headers=auth, params=params).json()
        seen += [c["email"] for c in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [f"c{n}@example.com" for n in range(5)]


def test_a_forged_cursor_is_refused(api, auth):
    response = api.get("/customers", headers=auth, params={"cursor": "MQ.forged"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"


def test_limit_above_the_maximum_is_refused(api, auth):
    response = api.get("/customers", headers=auth, params={"limit": 10_000})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"


def test_timeline_lists_the_record_being_created(api, auth):
    created = _create(api, auth)

    response = api.get(f"/customers/{created['id']}/timeline", headers=auth)

    assert response.status_code == 200
    assert [entry["kind"] for entry in response.json()["data"]] == ["customer"]


def test_missing_customer_is_a_404_problem(api, auth):
    response = api.get("/customers/999", headers=auth)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
