"""Custom field definitions and typed values: every type parses, bad values say why."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from helpdesk.customers import service
from helpdesk.customers.models import CustomField, CustomFieldValue
from tests.factories import make_custom_field, make_customer


def _field(field_type, choices=()):
    return CustomField(key="f", label="Field", field_type=field_type, choices=list(choices))


@pytest.mark.parametrize(
    ("field_type", "raw", "expected"),
    [
        ("text", "  Gold   plan ", "Gold plan"),
        ("number", "1,234.5", Decimal("1234.5")),
        ("number", "-3", Decimal("-3")),
        ("date", "2024-02-29", date(2024, 2, 29)),
        ("boolean", "Yes", True),
        ("boolean", "0", False),
        ("boolean", "예", True),
    ],
)
def test_values_parse_to_their_type(field_type, raw, expected):
    assert service.parse_field_value(_field(field_type), raw) == expected


def test_choice_value_matches_a_choice_regardless_of_case():
    assert service.parse_field_value(_field("choice", ["Gold", "Silver"]), "gold") == "Gold"


def test_empty_value_parses_to_none():
    assert service.parse_field_value(_field("number"), "   ") is None


@pytest.mark.parametrize(
    ("field_type", "raw", "message"),
    [
        ("number", "12abc", "must be a number"),
        ("number", "NaN", "must be a number"),
        ("number", "1.23456", "at most 4 decimal places"),
        ("date", "2024-02-30", "YYYY-MM-DD"),
        ("date", "01/02/2024", "YYYY-MM-DD"),
        ("boolean", "maybe", "yes or no"),
        ("text", "x" * 2001, "too long"),
    ],
)
def test_bad_values_raise_a_clear_error(field_type, raw, message):
    with pytest.raises(service.FieldValueError) as info:
        service.parse_field_value(_field(field_type), raw)
    assert message in str(info.value)
    assert "Field" in str(info.value)


def test_choice_outside_the_list_names_the_allowed_choices():
    with pytest.raises(service.FieldValueError) as info:
        service.parse_field_value(_field("choice", ["Gold", "Silver"]), "Bronze")
    assert "Gold, Silver" in str(info.value)


def test_set_field_value_stores_numbers_in_the_number_column(session):
    field = make_custom_field(session, key="orders", label="Orders", field_type="number")
    customer = make_customer(session)
    service.set_field_value(session, customer, field, Decimal("7.5"))
    session.commit()
    stored = session.scalars(select(CustomFieldValue)).one()
    assert (stored.number_value, stored.text_value) == (Decimal("7.5"), None)


def test_set_field_value_none_removes_the_value(session):
    field = make_custom_field(session)
    customer = make_customer(session, fields={"plan": "Gold"})
    service.set_field_value(session, customer, field, None)
    session.commit()
    assert session.scalar(select(func.count()).select_from(CustomFieldValue)) == 0


def test_set_field_value_refuses_a_value_of_the_wrong_type(session):
    field = make_custom_field(session, key="since", label="Since", field_type="date")
    customer = make_customer(session)
    with pytest.raises(service.FieldValueError):
        service.set_field_value(session, customer, field, Decimal(3))


def test_customer_values_are_validated_by_type_and_nothing_is_written(session):
    make_custom_field(session, key="orders", label="Orders", field_type="number")
    with pytest.raises(service.CustomerInvalid) as info:
        service.create_customer(
            session, service.CustomerData(email="a@example.com", fields={"orders": "many"})
        )
    session.rollback()
    assert "must be a number" in str(info.value.errors["cf_orders"])
    assert session.scalar(select(func.count()).select_from(CustomFieldValue)) == 0


def test_customer_values_are_read_back_by_key(session):
    make_custom_field(session, key="birthday", label="Birthday", field_type="date")
    make_custom_field(session, key="vip", label="VIP", field_type="boolean")
    customer = make_customer(session, fields={"birthday": "1990-07-01", "vip": "yes"})
    session.expire_all()
    customer = session.get(type(customer), customer.id)
    assert service.field_values_by_key(customer) == {"birthday": date(1990, 7, 1), "vip": True}


@pytest.mark.parametrize("key", ["Plan", "1plan", "plan-name", "", "p" * 65, "플랜"])
def test_field_key_must_be_a_lower_case_slug(session, key):
    with pytest.raises(service.CustomFieldInvalid) as info:
        make_custom_field(session, key=key)
    assert "key" in info.value.errors


def test_field_key_may_not_shadow_a_built_in_column(session):
    with pytest.raises(service.CustomFieldInvalid) as info:
        make_custom_field(session, key="email")
    assert "built-in" in str(info.value.errors["key"])


def test_field_key_must_be_unique(session):
    make_custom_field(session, key="plan")
    with pytest.raises(service.CustomFieldInvalid) as info:
        make_custom_field(session, key="plan", label="Plan again")
    assert "already exists" in str(info.value.errors["key"])


def test_choice_field_needs_choices(session):
    with pytest.raises(service.CustomFieldInvalid) as info:
        make_custom_field(session, field_type="choice", choices="\n  \n")
    assert "choices" in info.value.errors


def test_choices_are_trimmed_and_deduplicated(session):
    field = make_custom_field(session, field_type="choice", choices="Gold\n gold \nSilver\n")
    assert field.choices == ["Gold", "Silver"]


def test_type_cannot_change_once_customers_have_values(session):
    field = make_custom_field(session)
    make_customer(session, fields={"plan": "Gold"})
    with pytest.raises(service.CustomFieldInvalid) as info:
        service.update_custom_field(
            session, field, service.CustomFieldData(key="plan", label="Plan", field_type="number")
        )
    assert "cannot change" in str(info.value.errors["field_type"])


def test_a_choice_in_use_cannot_be_removed(session):
    field = make_custom_field(session, field_type="choice", choices=["Gold", "Silver"])
    make_customer(session, fields={"plan": "Gold"})
    with pytest.raises(service.CustomFieldInvalid) as info:
        service.update_custom_field(
            session,
            field,
            service.CustomFieldData(
                key="plan", label="Plan", field_type="choice", choices=["Silver"]
            ),
        )
    assert "Gold" in str(info.value.errors["choices"])


def test_fields_are_listed_by_order_number(session):
    make_custom_field(session, key="b", label="B", position=2)
    make_custom_field(session, key="a", label="A", position=1)
    assert [f.key for f in service.list_custom_fields(session)] == ["a", "b"]


def test_deleting_a_field_deletes_its_values(session):
    field = make_custom_field(session)
    make_customer(session, fields={"plan": "Gold"})
    service.delete_custom_field(session, field)
    session.commit()
    assert session.scalar(select(func.count()).select_from(CustomFieldValue)) == 0
