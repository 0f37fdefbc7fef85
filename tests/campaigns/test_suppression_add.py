"""Adding to the suppression list by hand or for another system (the API's POST)."""

from __future__ import annotations

import pytest

from helpdesk.campaigns import suppression
from helpdesk.campaigns.models import SuppressionReason
from helpdesk.customers.models import SubscriptionStatus
from helpdesk.db import utcnow
from tests.factories import make_subscribers


def test_new_address_is_added_lowercased(session):
    row, added = suppression.add_suppression(session, "Kim@Example.com", now=utcnow())
    session.commit()

    assert (row.email, row.reason, added) == ("kim@example.com", SuppressionReason.manual, True)


def test_listed_address_keeps_its_first_reason(session):
    suppression.add_suppression(session, "kim@example.com", now=utcnow())
    row, added = suppression.add_suppression(
        session, "kim@example.com", SuppressionReason.unsubscribed, now=utcnow()
    )

    assert (row.reason, added) == (SuppressionReason.manual, False)


def test_unsubscribe_of_a_customer_unsubscribes_the_customer(session):
    [customer] = make_subscribers(session, 1)

    row, _added = suppression.add_suppression(
        session, customer.email, SuppressionReason.unsubscribed, now=utcnow()
    )
    session.commit()
    session.refresh(customer)

    assert row.customer_id == customer.id
    assert customer.subscription_status == SubscriptionStatus.unsubscribed


@pytest.mark.parametrize(
    ("email", "reason", "field"),
    [
        ("not an address", SuppressionReason.manual, "email"),
        ("kim@example.com", SuppressionReason.complaint, "reason"),
    ],
)
def test_bad_input_is_refused_and_adds_nothing(session, email, reason, field):
    with pytest.raises(suppression.SuppressionInvalid) as info:
        suppression.add_suppression(session, email, reason, now=utcnow())

    assert list(info.value.errors) == [field]
    assert suppression.suppressions_after(session, "", 10) == []
