"""upsert_orders, the service behind /purchases, on both databases: stored once per
(source, order id), updated when changed, all or nothing per batch."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from helpdesk.customers.models import Customer, Purchase, PurchaseStatus
from helpdesk.customers.service import OrderData, OrdersInvalid, lifetime_value, upsert_orders
from helpdesk.events.models import Event


def _order(n: int = 1, **changes) -> OrderData:
    values = {
        "order_id": f"o{n}",
        "product": "Tea",
        "amount": "10.00",
        "currency": "KRW",
        "purchased_at": "2026-11-01",
        "customer_email": "kim@example.com",
    }
    return OrderData(**(values | changes))


def test_orders_sent_twice_are_stored_once(session):
    first = upsert_orders(session, "shop", [_order(1), _order(2)])
    again = upsert_orders(session, "shop", [_order(1), _order(2)])
    session.commit()

    assert [r.outcome for r in first] == ["created", "created"]
    assert [r.outcome for r in again] == ["unchanged", "unchanged"]
    assert session.query(Purchase).count() == 2
    assert session.query(Customer).count() == 1


def test_a_changed_order_is_updated_in_place(session):
    (created,) = upsert_orders(session, "shop", [_order()])
    (updated,) = upsert_orders(session, "shop", [_order(amount="12.00", quantity=2)])
    session.commit()

    purchase = session.get(Purchase, created.purchase_id, populate_existing=True)
    assert updated.outcome == "updated"
    assert (purchase.amount, purchase.quantity) == (Decimal("12.00"), 2)


def test_a_full_refund_without_an_amount_refunds_everything(session):
    (result,) = upsert_orders(session, "shop", [_order(status="refunded")])
    session.commit()

    purchase = session.get(Purchase, result.purchase_id, populate_existing=True)
    assert purchase.status == PurchaseStatus.refunded
    assert purchase.refunded_amount == Decimal("10.00")
    assert lifetime_value(session, result.customer_id)[0].amount == Decimal("0.00")


def test_a_refund_larger_than_the_payment_is_refused(session):
    with pytest.raises(OrdersInvalid) as info:
        upsert_orders(session, "shop", [_order(refunded_amount="11")])

    assert set(info.value.errors) == {"0.refunded_amount"}


def test_a_batch_with_one_bad_order_stores_nothing(session):
    with pytest.raises(OrdersInvalid) as info:
        upsert_orders(session, "shop", [_order(1), _order(2, amount="-3")])
    session.rollback()

    assert set(info.value.errors) == {"1.amount"}
    assert session.query(Purchase).count() == 0


def test_the_same_order_twice_in_one_batch_is_refused(session):
    with pytest.raises(OrdersInvalid) as info:
        upsert_orders(session, "shop", [_order(1), _order(1)])

    assert set(info.value.errors) == {"1.order_id"}


def test_an_unknown_customer_id_is_refused(session):
    with pytest.raises(OrdersInvalid) as info:
        upsert_orders(session, "shop", [_order(customer_email=None, customer_id=999)])

    assert set(info.value.errors) == {"0.customer"}


def test_cancelled_orders_count_nothing_towards_lifetime_value(session):
    results = upsert_orders(session, "shop", [_order(1), _order(2, status="cancelled")])
    session.commit()

    assert lifetime_value(session, results[0].customer_id)[0].amount == Decimal("10.00")


def _purchase_events(session) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.type == "purchase.created")))


def test_new_orders_are_recorded_as_purchase_created_in_their_transaction(session):
    results = upsert_orders(session, "shop", [_order(1), _order(2)])
    session.commit()

    events = _purchase_events(session)
    assert sorted(e.payload["purchase_id"] for e in events) == sorted(
        r.purchase_id for r in results
    )
    assert {(e.subject_kind, e.subject_id) for e in events} == {
        ("customer", results[0].customer_id)
    }


def test_orders_sent_again_record_no_new_purchase_events(session):
    upsert_orders(session, "shop", [_order(1)])
    upsert_orders(session, "shop", [_order(1)])
    upsert_orders(session, "shop", [_order(1, amount="12.00")])
    session.commit()

    assert [e.payload["order_id"] for e in _purchase_events(session)] == ["o1"]


def test_a_refused_batch_records_no_events(session):
    with pytest.raises(OrdersInvalid):
        upsert_orders(session, "shop", [_order(1), _order(2, amount="-3")])
    session.rollback()

    assert _purchase_events(session) == []
