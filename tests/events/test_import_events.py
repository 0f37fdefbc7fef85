"""A CSV import records its events set-based, in the chunk's transaction: one per new or
changed customer and per new purchase, none for a re-import that changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.customers import importer
from helpdesk.customers.models import ImportKind
from helpdesk.events.models import Event


def _import(session, text: str, kind=ImportKind.customers) -> None:
    importer.apply_plan(session, importer.plan_import(session, kind, text.encode()))
    session.commit()


def _types(session) -> list[str]:
    session.rollback()
    return [e.type for e in session.scalars(select(Event).order_by(Event.id))]


CUSTOMERS = "email,name\na@example.com,A\nb@example.com,B\n"


def test_imported_customers_are_recorded_as_created(session):
    _import(session, CUSTOMERS)

    assert _types(session) == ["customer.created", "customer.created"]


def test_a_reimport_records_only_the_changed_customer(session):
    _import(session, CUSTOMERS)

    _import(session, "email,name\na@example.com,A\nb@example.com,Bee\n")

    assert _types(session)[2:] == ["customer.updated"]


def test_imported_purchases_are_recorded_once(session):
    _import(session, CUSTOMERS)
    purchases = "email,product,quantity,amount,currency,date,order_ref\n"
    purchases += "a@example.com,Tea,1,9.50,EUR,2026-11-01,o-1\n"

    _import(session, purchases, ImportKind.purchases)
    _import(session, purchases, ImportKind.purchases)

    assert _types(session)[2:] == ["purchase.created"]
