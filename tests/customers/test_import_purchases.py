"""Importing purchases from CSV: matching customers, typed values, idempotence by order_ref."""

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select

from helpdesk.customers import importer
from helpdesk.customers.models import ImportKind, Purchase
from tests.factories import make_customer

HEADER = "email,product,quantity,amount,currency,date,order_ref\n"


def run_import(session, rows: str, timezone="UTC"):
    plan = importer.plan_import(session, ImportKind.purchases, (HEADER + rows).encode(), timezone)
    importer.apply_plan(session, plan)
    session.commit()
    return plan


def purchases(session):
    return session.scalars(select(Purchase).order_by(Purchase.id)).all()


def test_purchases_are_attached_to_the_customer_by_email(session):
    kim = make_customer(session, email="kim@example.com")
    run_import(session, "KIM@example.com,Book,2,12000,krw,2024-05-01,A-1\n")
    [purchase] = purchases(session)
    assert purchase.customer_id == kim.id
    assert (purchase.product, purchase.quantity, purchase.amount, purchase.currency) == (
        "Book",
        2,
        Decimal("12000.00"),
        "KRW",
    )
    assert purchase.order_ref == "A-1"


def test_dates_without_offset_are_read_in_the_given_time_zone(session):
    make_customer(session, email="kim@example.com")
    run_import(
        session,
        "kim@example.com,Book,1,1,KRW,2024-05-01,\n"
        "kim@example.com,Pen,1,1,KRW,2024-05-01 09:30,\n"
        "kim@example.com,Ink,1,1,KRW,2024-05-01T09:30:00+00:00,\n",
        timezone="Asia/Seoul",
    )
    assert [p.purchased_at for p in purchases(session)] == [
        datetime(2024, 4, 30, 15, 0, tzinfo=UTC),
        datetime(2024, 5, 1, 0, 30, tzinfo=UTC),
        datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
    ]


def test_reimporting_with_order_refs_updates_instead_of_duplicating(session):
    make_customer(session, email="kim@example.com")
    rows = (
        "kim@example.com,Book,1,100,USD,2024-05-01,A-1\n"
        "kim@example.com,Pen,1,5,USD,2024-05-01,A-1\n"
    )
    first = run_import(session, rows)
    second = run_import(session, rows.replace(",100,", ",90,"))
    assert (first.new_count, second.new_count, second.updated_count) == (2, 0, 2)
    assert [(p.product, p.amount) for p in purchases(session)] == [
        ("Book", Decimal("90.00")),
        ("Pen", Decimal("5.00")),
    ]


def test_rows_without_order_ref_are_always_new(session):
    make_customer(session, email="kim@example.com")
    row = "kim@example.com,Book,1,100,USD,2024-05-01,\n"
    run_import(session, row)
    run_import(session, row)
    assert session.scalar(select(func.count()).select_from(Purchase)) == 2


def test_each_bad_purchase_value_is_reported_with_its_line(session):
    make_customer(session, email="kim@example.com")
    plan = run_import(
        session,
        "kim@example.com,Book,1,100,USD,2024-05-01,A-1\n"
        "nobody@example.com,Book,1,100,USD,2024-05-01,\n"
        "kim@example.com,,1,100,USD,2024-05-01,\n"
        "kim@example.com,Book,zero,100,USD,2024-05-01,\n"
        "kim@example.com,Book,1,-3,USD,2024-05-01,\n"
        "kim@example.com,Book,1,1.999,USD,2024-05-01,\n"
        "kim@example.com,Book,1,100,XYZ,2024-05-01,\n"
        "kim@example.com,Book,1,100,USD,01/05/2024,\n"
        "kim@example.com,Book,1,100,USD,2024-05-01,A-1\n",
    )
    assert [(e.line, e.column, e.code) for e in plan.errors] == [
        (3, "email", "unknown_customer"),
        (4, "product", "required"),
        (5, "quantity", "invalid_quantity"),
        (6, "amount", "invalid_amount"),
        (7, "amount", "invalid_amount"),
        (8, "currency", "invalid_currency"),
        (9, "date", "invalid_datetime"),
        (10, "order_ref", "duplicate_purchase"),
    ]
    assert len(purchases(session)) == 1


def test_purchase_dry_run_writes_nothing(session):
    make_customer(session, email="kim@example.com")
    plan = importer.plan_import(
        session,
        ImportKind.purchases,
        (HEADER + "kim@example.com,Book,1,1,USD,2024-05-01,\n").encode(),
    )
    session.commit()
    assert plan.new_count == 1
    assert purchases(session) == []
