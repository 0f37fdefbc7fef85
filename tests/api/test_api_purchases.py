"""/purchases over real HTTP: a batch of 1,000 orders sent twice is stored once, changes
and refunds update, one bad order refuses the batch naming its place."""

from __future__ import annotations

import pytest

from helpdesk.customers.models import Purchase
from helpdesk.customers.service import lifetime_value
from tests.api.conftest import bearer
from tests.factories import make_api_token


@pytest.fixture
def auth(session, agent):
    return bearer(make_api_token(session, agent, scopes=["purchases:read", "purchases:write"]))


def _orders(count: int, **changes) -> list[dict]:
    return [
        {
            "order_id": f"A-{n}",
            "customer_email": f"buyer{n % 20}@example.com",
            "product": "Green tea",
            "amount": "12.50",
            "currency": "KRW",
            "purchased_at": "2026-11-20T08:00:00Z",
        }
        | changes
        for n in range(count)
    ]


def _stored(session) -> int:
    session.rollback()
    return session.query(Purchase).count()


def test_the_same_1000_orders_sent_twice_are_stored_once(api, auth, session):
    batch = {"source": "shop", "orders": _orders(1000)}

    first = api.post("/purchases/batch", headers=auth, json=batch)
    second = api.post("/purchases/batch", headers=auth, json=batch)

    assert first.status_code == second.status_code == 200
    assert (first.json()["created"], second.json()["unchanged"]) == (1000, 1000)
    assert _stored(session) == 1000


def test_a_changed_order_updates_its_row_and_the_lifetime_value(api, auth, session):
    api.post("/purchases/batch", headers=auth, json={"source": "shop", "orders": _orders(1)})

    response = api.post(
        "/purchases/batch", headers=auth, json={"source": "shop", "orders": _orders(1, amount="20")}
    )

    assert response.json()["updated"] == 1
    purchase = session.query(Purchase).one()
    assert str(lifetime_value(session, purchase.customer_id)[0].amount) == "20.00"


def test_a_refund_and_a_cancellation_take_the_orders_out_of_lifetime_value(api, auth, session):
    orders = _orders(2, customer_email="kim@example.com")
    api.post("/purchases/batch", headers=auth, json={"source": "shop", "orders": orders})
    orders[0] |= {"status": "refunded", "refunded_amount": "2.50"}
    orders[1] |= {"status": "cancelled"}

    api.post("/purchases/batch", headers=auth, json={"source": "shop", "orders": orders})

    session.rollback()
    customer_id = session.query(Purchase).first().customer_id
    assert [(m.currency, str(m.amount)) for m in lifetime_value(session, customer_id)] == [
        ("KRW", "10.00")
    ]


def test_currency_is_kept_per_purchase(api, auth, session):
    orders = _orders(2, customer_email="kim@example.com")
    orders[1]["currency"] = "usd"

    api.post("/purchases/batch", headers=auth, json={"source": "shop", "orders": orders})

    session.rollback()
    customer_id = session.query(Purchase).first().customer_id
    assert [m.currency for m in lifetime_value(session, customer_id)] == ["KRW", "USD"]


def test_one_bad_order_refuses_the_batch_naming_it(api, auth, session):
    orders = _orders(5)
    orders[3]["currency"] = "ZZZ"

    response = api.post("/purchases/batch", headers=auth, json={"source": "shop", "orders": orders})

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["orders[3].currency"]
    assert _stored(session) == 0


def test_more_than_1000_orders_are_refused(api, auth, session):
    response = api.post(
        "/purchases/batch", headers=auth, json={"source": "shop", "orders": _orders(1001)}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "orders"
    assert _stored(session) == 0


def test_the_same_order_id_from_another_source_is_another_purchase(api, auth, session):
    for source in ("shop", "marketplace"):
        api.post("/purchases/batch", headers=auth, json={"source": source, "orders": _orders(1)})

    assert _stored(session) == 2


def test_a_single_order_is_created_then_found_again(api, auth):
    order = _orders(1)[0] | {"source": "shop"}

    first = api.post("/purchases", headers=auth, json=order)
    again = api.post("/purchases", headers=auth, json=order)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["amount"] == "12.50"


def test_purchases_are_listed_by_customer_and_read_one_by_one(api, auth):
    api.post("/purchases/batch", headers=auth, json={"source": "shop", "orders": _orders(3)})

    listed = api.get("/purchases", headers=auth, params={"order_id": "A-1"}).json()["data"]
    one = api.get(f"/purchases/{listed[0]['id']}", headers=auth)

    assert [p["order_id"] for p in listed] == ["A-1"]
    assert one.json() == listed[0]
    assert one.headers["etag"]


def test_purchase_scope_is_needed_to_import(api, session, agent):
    auth = bearer(make_api_token(session, agent, scopes=["customers:write"]))

    response = api.post(
        "/purchases/batch", headers=auth, json={"source": "s", "orders": _orders(1)}
    )

    assert response.status_code == 403
    assert _stored(session) == 0
