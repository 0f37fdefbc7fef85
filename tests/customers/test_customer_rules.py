"""Customer records: normalization, one record per address, consent timestamps."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from helpdesk.customers import service
from helpdesk.customers.models import Customer, SubscriptionStatus
from tests.factories import make_customer

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
T1 = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(Customer))


def test_email_is_trimmed_and_its_domain_lower_cased(session):
    customer = make_customer(session, email="  Minji.Kim@Example.COM ")
    assert customer.email == "Minji.Kim@example.com"


def test_name_is_stored_in_composed_form_with_single_spaces(session):
    decomposed = "\u1100\u1175\u11b7  \u1106\u1175\u11ab\u110c\u1175"  # 김 민지 as jamo
    customer = make_customer(session, name=decomposed)
    assert customer.name == "김 민지"


def test_phone_full_width_digits_are_folded_to_ascii(session):
    customer = make_customer(session, phone=" ０１０－１２３４－５６７８ ")
    assert customer.phone == "010-1234-5678"


def test_phone_with_letters_is_refused(session):
    with pytest.raises(service.CustomerInvalid) as info:
        service.create_customer(
            session, service.CustomerData(email="a@example.com", phone="call me")
        )
    assert "phone" in info.value.errors
    assert _count(session) == 0


def test_invalid_email_is_refused_with_a_message(session):
    with pytest.raises(service.CustomerInvalid) as info:
        service.create_customer(session, service.CustomerData(email="not-an-address"))
    assert "not a valid email" in str(info.value.errors["email"])


def test_missing_email_is_refused(session):
    with pytest.raises(service.CustomerInvalid) as info:
        service.create_customer(session, service.CustomerData(email="  "))
    assert "required" in str(info.value.errors["email"])


def test_duplicate_email_is_refused_and_nothing_is_written(session):
    make_customer(session, email="kim@example.com")
    with pytest.raises(service.CustomerInvalid) as info:
        service.create_customer(
            session, service.CustomerData(email="kim@EXAMPLE.com", name="Another")
        )
    session.rollback()
    assert "already exists" in str(info.value.errors["email"])
    assert _count(session) == 1


def test_duplicate_email_differing_only_in_local_part_case_is_refused(session):
    make_customer(session, email="kim@example.com")
    with pytest.raises(service.CustomerInvalid):
        service.create_customer(session, service.CustomerData(email="KIM@example.com"))


def test_changing_email_to_another_customers_address_is_refused(session):
    make_customer(session, email="kim@example.com")
    lee = make_customer(session, email="lee@example.com", name="Lee")
    with pytest.raises(service.CustomerInvalid):
        service.update_customer(session, lee, service.CustomerData(email="kim@example.com"))
    session.rollback()
    assert session.get(Customer, lee.id).email == "lee@example.com"


def test_tags_are_normalized_and_shared_between_customers(session):
    kim = make_customer(session, tags="VIP,  Seoul , vip")
    lee = make_customer(session, email="lee@example.com", tags=["seoul"])
    assert [t.name for t in kim.tags] == ["seoul", "vip"]
    assert lee.tags[0].id == next(t.id for t in kim.tags if t.name == "seoul")


def test_subscribing_records_consent_time_and_source(session):
    customer = make_customer(session)
    service.set_subscription(customer, "subscribed", source="signup form", now=T0)
    assert customer.subscription_status == SubscriptionStatus.subscribed
    assert customer.consent_at == T0
    assert customer.consent_source == "signup form"
    assert customer.unsubscribed_at is None


def test_unsubscribing_records_the_time_and_keeps_the_consent_evidence(session):
    customer = make_customer(session)
    service.set_subscription(customer, "subscribed", source="event", now=T0)
    service.set_subscription(customer, "unsubscribed", now=T1)
    assert customer.unsubscribed_at == T1
    assert customer.consent_at == T0


def test_saving_the_same_status_again_keeps_the_timestamps(session):
    customer = make_customer(session)
    service.set_subscription(customer, "subscribed", source="event", now=T0)
    service.set_subscription(customer, "subscribed", source="other", now=T1)
    assert customer.consent_at == T0
    assert customer.consent_source == "event"


def test_creating_a_subscribed_customer_records_consent(session):
    customer = make_customer(session, subscription_status="subscribed", consent_source="phone call")
    assert customer.consent_at is not None
    assert customer.consent_source == "phone call"


def test_deleting_a_customer_removes_the_row(session):
    customer = make_customer(session)
    service.delete_customer(session, customer)
    session.commit()
    assert _count(session) == 0


def test_find_by_email_ignores_case(session):
    customer = make_customer(session, email="Kim@example.com")
    assert service.find_customer_by_email(session, "kim@EXAMPLE.com").id == customer.id
