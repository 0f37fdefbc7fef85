"""Given and family names stored on customers: derived from the name until a person
enters them, then kept; searchable, and filled for customers first met by mail."""

from __future__ import annotations

from email.header import Header

import pytest
from sqlalchemy import select

from helpdesk.customers import service
from helpdesk.customers.models import Customer
from tests.factories import make_customer
from tests.tickets.mails import ingest, mail


def parts(customer) -> tuple[str, str, bool]:
    return customer.given_name, customer.family_name, customer.name_parts_entered


def update(session, customer, **changes):
    data = {"email": customer.email, "name": customer.name} | changes
    service.update_customer(session, customer, service.CustomerData(**data))
    session.commit()
    return customer


def test_parts_are_derived_from_a_korean_name_and_stored(session):
    customer = make_customer(session, name="김 민준")
    session.expire_all()
    assert parts(session.get(Customer, customer.id)) == ("민준", "김", False)


def test_parts_a_person_enters_are_stored_as_entered(session):
    customer = make_customer(session, name="Kim Minjun", given_name="민준", family_name="김")
    assert parts(customer) == ("민준", "김", True)


def test_entering_what_the_name_gives_anyway_leaves_them_following_the_name(session):
    customer = make_customer(
        session, name="Mary Ann Smith", given_name="Mary Ann", family_name="Smith"
    )
    assert parts(customer) == ("Mary Ann", "Smith", False)
    update(session, customer, name="Mary Ann Jones", given_name="", family_name="")
    assert parts(customer) == ("Mary Ann", "Jones", False)


def test_a_changed_name_derives_the_parts_again(session):
    customer = make_customer(session, name="김민준")
    update(session, customer, name="남궁민수")
    assert parts(customer) == ("민수", "남궁", False)


def test_a_changed_name_keeps_entered_parts(session):
    customer = make_customer(session, name="Kim Minjun", given_name="민준", family_name="김")
    # A caller that does not manage the parts (None) leaves entered ones alone.
    update(session, customer, name="Minjun Kim")
    assert parts(customer) == ("민준", "김", True)


def test_clearing_both_inputs_goes_back_to_the_name(session):
    customer = make_customer(session, name="Kim Minjun", given_name="민준", family_name="김")
    update(session, customer, given_name="", family_name="")
    assert parts(customer) == ("Kim", "Minjun", False)


def test_one_entered_part_leaves_the_other_empty(session):
    customer = make_customer(session, name="Cher Sarkisian", given_name="Cher", family_name="")
    assert parts(customer) == ("Cher", "", True)


@pytest.mark.parametrize("field", ["given_name", "family_name"])
def test_a_part_over_200_characters_is_refused_and_nothing_changes(session, field):
    customer = make_customer(session, name="김민준")
    with pytest.raises(service.CustomerInvalid) as refused:
        update(session, customer, name="김민수", **{field: "가" * 201})
    session.rollback()
    assert str(refused.value.errors[field]) == "At most 200 characters."
    session.expire_all()
    stored = session.get(Customer, customer.id)
    assert (stored.name, *parts(stored)) == ("김민준", "민준", "김", False)


def test_parts_are_normalized_like_the_name(session):
    customer = make_customer(
        session, name="Kim", given_name="  Min\u00a0 jun ", family_name="\u1100\u1175\u11b7"
    )
    # Single spaces, and decomposed Hangul (as macOS sends it) composed.
    assert parts(customer) == ("Min jun", "김", True)


def test_search_finds_customers_by_an_entered_part(session):
    make_customer(session, email="minjun@example.com", name="Kim Minjun", given_name="민준")
    make_customer(session, email="other@example.com", name="Lee Seoyeon")
    found, total = service.search_customers(session, service.CustomerFilter(text="민준"))
    assert total == 1
    assert [c.email for c in found] == ["minjun@example.com"]


def test_a_customer_first_met_by_mail_gets_parts_from_the_display_name(session):
    sender = f"{Header('김민준', 'utf-8').encode()} <minjun@example.com>"
    ingest(session, mail(sender=sender))
    session.commit()
    customer = session.scalars(select(Customer).where(Customer.email == "minjun@example.com")).one()
    assert (customer.name, *parts(customer)) == ("김민준", "민준", "김", False)
