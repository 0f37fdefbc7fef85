"""Each kind of segment condition selects the right customers, on both databases."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from helpdesk.tickets.models import TicketStatus
from tests.campaigns.segment_support import NOW, matching, one
from tests.factories import (
    make_custom_field,
    make_customer,
    make_delivery,
    make_purchase,
    make_sending_campaign,
    make_ticket,
)


def subscriber(session, email, **overrides):
    return make_customer(session, email=email, subscription_status="subscribed", **overrides)


def test_text_custom_field_equals_ignoring_case(session):
    make_custom_field(session, key="plan", label="Plan", field_type="text")
    subscriber(session, "pro@example.com", fields={"plan": "Pro"})
    subscriber(session, "free@example.com", fields={"plan": "free"})
    subscriber(session, "none@example.com")
    assert matching(session, one("custom.plan", "eq", "pro")) == {"pro@example.com"}
    assert matching(session, one("custom.plan", "neq", "pro")) == {
        "free@example.com",
        "none@example.com",
    }


def test_text_custom_field_contains(session):
    make_custom_field(session, key="city", label="City", field_type="text")
    subscriber(session, "seoul@example.com", fields={"city": "서울특별시"})
    subscriber(session, "busan@example.com", fields={"city": "부산광역시"})
    assert matching(session, one("custom.city", "contains", "서울")) == {"seoul@example.com"}


def test_number_custom_field_compares_as_numbers(session):
    make_custom_field(session, key="seats", label="Seats", field_type="number")
    subscriber(session, "nine@example.com", fields={"seats": "9"})
    subscriber(session, "ten@example.com", fields={"seats": "10"})
    subscriber(session, "hundred@example.com", fields={"seats": "100"})
    # As text, "9" > "10"; as numbers it is not.
    assert matching(session, one("custom.seats", "gt", 9)) == {
        "ten@example.com",
        "hundred@example.com",
    }
    assert matching(session, one("custom.seats", "lte", "10")) == {
        "nine@example.com",
        "ten@example.com",
    }


def test_date_custom_field_before_and_within_days(session):
    make_custom_field(session, key="renewal", label="Renewal", field_type="date")
    subscriber(session, "old@example.com", fields={"renewal": "2020-01-31"})
    subscriber(session, "recent@example.com", fields={"renewal": "2026-06-10"})
    assert matching(session, one("custom.renewal", "before", "2021-01-01")) == {"old@example.com"}
    assert matching(session, one("custom.renewal", "within_days", 30)) == {"recent@example.com"}


def test_boolean_custom_field(session):
    make_custom_field(session, key="vip", label="VIP", field_type="boolean")
    subscriber(session, "vip@example.com", fields={"vip": "yes"})
    subscriber(session, "plain@example.com", fields={"vip": "no"})
    subscriber(session, "unknown@example.com")
    assert matching(session, one("custom.vip", "is_true")) == {"vip@example.com"}
    assert matching(session, one("custom.vip", "is_false")) == {"plain@example.com"}
    assert matching(session, one("custom.vip", "is_not_set")) == {"unknown@example.com"}


def test_choice_custom_field_in(session):
    make_custom_field(
        session, key="region", label="Region", field_type="choice", choices="north\nsouth\nwest"
    )
    subscriber(session, "n@example.com", fields={"region": "north"})
    subscriber(session, "s@example.com", fields={"region": "south"})
    subscriber(session, "w@example.com", fields={"region": "west"})
    assert matching(session, one("custom.region", "in", ["north", "south"])) == {
        "n@example.com",
        "s@example.com",
    }


def test_tag_has_and_has_not(session):
    subscriber(session, "tagged@example.com", tags=["VIP", "beta"])
    subscriber(session, "other@example.com", tags=["beta"])
    assert matching(session, one("tag", "has", "vip")) == {"tagged@example.com"}
    assert matching(session, one("tag", "has_not", "vip")) == {"other@example.com"}


def test_bought_product(session):
    buyer = subscriber(session, "buyer@example.com")
    subscriber(session, "window@example.com")
    make_purchase(session, buyer, product="Pro plan")
    assert matching(session, one("purchase.product", "bought", "Pro plan")) == {"buyer@example.com"}
    assert matching(session, one("purchase.product", "not_bought", "Pro plan")) == {
        "window@example.com"
    }


def test_total_spend_above_and_below(session):
    big = subscriber(session, "big@example.com")
    small = subscriber(session, "small@example.com")
    subscriber(session, "none@example.com")
    make_purchase(session, big, amount=Decimal("60000"), order_ref="a")
    make_purchase(session, big, amount=Decimal("50000"), order_ref="b")
    make_purchase(session, small, amount=Decimal("20000"))
    assert matching(session, one("purchase.total", "gt", 100000)) == {"big@example.com"}
    # Customers without purchases spent 0, which is below any positive amount.
    assert matching(session, one("purchase.total", "lt", 100000)) == {
        "small@example.com",
        "none@example.com",
    }


def test_last_purchase_before_after_within_and_never(session):
    lapsed = subscriber(session, "lapsed@example.com")
    active = subscriber(session, "active@example.com")
    subscriber(session, "never@example.com")
    make_purchase(session, lapsed, purchased_at=NOW - timedelta(days=400))
    make_purchase(session, active, purchased_at=NOW - timedelta(days=400), order_ref="1")
    make_purchase(session, active, purchased_at=NOW - timedelta(days=3), order_ref="2")
    assert matching(session, one("purchase.last", "before", "2026-01-01")) == {"lapsed@example.com"}
    assert matching(session, one("purchase.last", "after", "2026-01-01")) == {"active@example.com"}
    assert matching(session, one("purchase.last", "within_days", 7)) == {"active@example.com"}
    assert matching(session, one("purchase.last", "never")) == {"never@example.com"}


def test_opened_and_clicked_within_days_and_never_opened(session):
    campaign = make_sending_campaign(session)
    opener = subscriber(session, "opener@example.com")
    old_opener = subscriber(session, "old@example.com")
    clicker = subscriber(session, "clicker@example.com")
    subscriber(session, "silent@example.com")
    make_delivery(session, campaign, opener, first_opened_at=NOW - timedelta(days=2))
    make_delivery(session, campaign, old_opener, first_opened_at=NOW - timedelta(days=90))
    make_delivery(
        session,
        campaign,
        clicker,
        first_opened_at=NOW - timedelta(days=5),
        first_clicked_at=NOW - timedelta(days=5),
    )
    assert matching(session, one("engagement.opened", "within_days", 30)) == {
        "opener@example.com",
        "clicker@example.com",
    }
    assert matching(session, one("engagement.clicked", "within_days", 30)) == {
        "clicker@example.com"
    }
    assert matching(session, one("engagement.opened", "never")) == {"silent@example.com"}


def test_open_ticket_and_contacted_support(session):
    subscriber(session, "waiting@example.com")
    subscriber(session, "solved@example.com")
    subscriber(session, "quiet@example.com")
    make_ticket(
        session,
        customer_email="waiting@example.com",
        status=TicketStatus.open,
        created_at=NOW - timedelta(days=3),
    )
    make_ticket(
        session,
        customer_email="solved@example.com",
        status=TicketStatus.closed,
        created_at=NOW - timedelta(days=200),
    )
    assert matching(session, one("ticket.open", "has")) == {"waiting@example.com"}
    assert matching(session, one("ticket.open", "has_not")) == {
        "solved@example.com",
        "quiet@example.com",
    }
    assert matching(session, one("ticket.contacted", "within_days", 30)) == {"waiting@example.com"}


def test_customer_fields_email_name_company_created(session):
    subscriber(
        session, "kim@corp.example", name="김민지", company="ACME", now=NOW - timedelta(days=400)
    )
    subscriber(session, "lee@home.example", name="Lee", company="", now=NOW - timedelta(days=1))
    assert matching(session, one("email", "ends_with", "@corp.example")) == {"kim@corp.example"}
    assert matching(session, one("name", "contains", "민지")) == {"kim@corp.example"}
    assert matching(session, one("company", "is_empty")) == {"lee@home.example"}
    assert matching(session, one("created_at", "before", "2026-01-01")) == {"kim@corp.example"}
    assert matching(session, one("created_at", "within_days", 7)) == {"lee@home.example"}


def test_subscription_status_condition_when_not_limited_to_subscribers(session):
    subscriber(session, "yes@example.com")
    make_customer(session, email="maybe@example.com")
    rules = one("subscription_status", "eq", "not_subscribed")
    assert matching(session, rules, sendable=False) == {"maybe@example.com"}
    assert matching(session, rules) == set()


@pytest.mark.parametrize("value", ["2026-02-30", "yesterday", 5])
def test_bad_date_values_are_refused(session, value):
    from helpdesk.campaigns.segments import SegmentError

    with pytest.raises(SegmentError, match="date"):
        matching(session, one("created_at", "before", value))


def test_date_rule_compares_calendar_days(session):
    subscriber(session, "d@example.com", now=NOW.replace(year=2025, month=12, day=31, hour=23))
    assert matching(session, one("created_at", "after", "2025-12-30")) == {"d@example.com"}
    assert matching(session, one("created_at", "after", "2025-12-31")) == set()


def test_given_and_family_name_conditions(session):
    subscriber(session, "minjun@example.com", name="김민준")
    subscriber(session, "mary@example.com", name="Mary Smith")
    subscriber(session, "nameless@example.com", name="")
    assert matching(session, one("family_name", "eq", "김")) == {"minjun@example.com"}
    assert matching(session, one("given_name", "eq", "mary")) == {"mary@example.com"}
    # Mail to nameless customers needs a greeting that does without a name.
    assert matching(session, one("given_name", "is_empty")) == {"nameless@example.com"}
    assert matching(session, one("family_name", "is_not_empty")) == {
        "minjun@example.com",
        "mary@example.com",
    }
