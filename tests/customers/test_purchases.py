"""Purchases: validation, history order, and lifetime value per currency."""

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from helpdesk.customers import service
from helpdesk.customers.models import Purchase
from tests.factories import make_customer, make_purchase


def test_lifetime_value_is_summed_per_currency(session):
    customer = make_customer(session)
    make_purchase(session, customer, amount=Decimal("10000"), currency="KRW")
    make_purchase(session, customer, amount="25000", currency="krw", product="Add-on")
    make_purchase(session, customer, amount=Decimal("19.90"), currency="USD")
    make_purchase(session, customer, amount=Decimal("0.10"), currency="USD", product="Tip")
    assert service.lifetime_value(session, customer.id) == [
        service.Money("KRW", Decimal("35000")),
        service.Money("USD", Decimal("20.00")),
    ]


def test_lifetime_value_of_several_customers_keeps_them_apart(session):
    kim = make_customer(session)
    lee = make_customer(session, email="lee@example.com")
    make_purchase(session, kim, amount=Decimal("5"), currency="EUR")
    make_purchase(session, lee, amount=Decimal("7"), currency="EUR")
    values = service.lifetime_values(session, [kim.id, lee.id])
    assert values[kim.id] == [service.Money("EUR", Decimal("5"))]
    assert values[lee.id] == [service.Money("EUR", Decimal("7"))]


def test_customer_without_purchases_has_no_lifetime_value(session):
    customer = make_customer(session)
    assert service.lifetime_value(session, customer.id) == []


def test_history_lists_the_newest_purchase_first(session):
    customer = make_customer(session)
    make_purchase(session, customer, product="Old", purchased_at=datetime(2023, 1, 1, tzinfo=UTC))
    make_purchase(session, customer, product="New", purchased_at=datetime(2024, 1, 1, tzinfo=UTC))
    assert [p.product for p in service.purchases_of(session, customer.id)] == ["New", "Old"]


def test_a_date_means_midnight_where_the_person_entering_it_is(session):
    customer = make_customer(session)
    purchase = make_purchase(
        session, customer, purchased_at=date(2024, 3, 1), tz=ZoneInfo("Asia/Seoul")
    )
    assert purchase.purchased_at == datetime(2024, 2, 29, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("currency", "WON"),
        ("currency", "US"),
        ("amount", "-5"),
        ("amount", "1.999"),
        ("amount", "lots"),
        ("quantity", "0"),
        ("quantity", "1.5"),
        ("product", "  "),
        ("purchased_at", "2024-13-01"),
        ("purchased_at", "2999-01-01"),
    ],
)
def test_bad_purchase_input_is_refused_and_nothing_is_written(session, field, value):
    customer = make_customer(session)
    values = {
        "product": "Plan",
        "quantity": "1",
        "amount": "100",
        "currency": "KRW",
        "purchased_at": "2024-01-01",
    } | {field: value}
    with pytest.raises(service.PurchaseInvalid) as info:
        service.add_purchase(session, customer, **values)
    session.rollback()
    assert field in info.value.errors
    assert session.scalar(select(func.count()).select_from(Purchase)) == 0


def test_the_same_order_line_cannot_be_added_twice(session):
    customer = make_customer(session)
    make_purchase(session, customer, order_ref="A-1")
    with pytest.raises(service.PurchaseInvalid) as info:
        make_purchase(session, customer, order_ref="A-1")
    assert "order_ref" in info.value.errors
