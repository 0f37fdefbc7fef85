"""The frequency cap and quiet hours as services: who may get marketing mail now, and
what the claim of deliveries does with those held back (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from helpdesk.campaigns import marketing_rules
from helpdesk.campaigns.deliveries import claim_batch
from helpdesk.campaigns.marketing_rules import (
    CAP,
    QUIET_HOURS,
    RulesData,
    RulesInvalid,
    marketing_sends_allowed,
)
from helpdesk.campaigns.models import Delivery, DeliveryState, MarketingRules
from helpdesk.campaigns.recovery import campaigns_with_work
from helpdesk.campaigns.reports import campaign_figures
from helpdesk.tickets.models import MessageKind
from tests.factories import (
    make_campaign_in_sending,
    make_delivery,
    make_marketing_rules,
    make_message,
    make_sending_campaign,
    make_subscribers,
    make_ticket,
)

NOW = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)  # 12:00 in Seoul
CAP_3_PER_7 = {"cap_enabled": True, "cap_messages": "3", "cap_days": "7"}
# 22:00–07:00 in Seoul (UTC+9) is 13:00–22:00 UTC.
NIGHTS_IN_SEOUL = {
    "quiet_enabled": True,
    "quiet_start": "22:00",
    "quiet_end": "07:00",
    "timezone": "Asia/Seoul",
}


def _sent_before(session, customer, *ages: timedelta, state=DeliveryState.sent):
    """Earlier campaigns' deliveries to the customer, sent `age` before NOW each."""
    for age in ages:
        campaign = make_sending_campaign(session, name=f"Earlier {age}")
        make_delivery(session, campaign, customer, state=state, sent_at=NOW - age)


def _delivery(session, campaign, customer) -> Delivery:
    session.expire_all()
    return session.scalars(
        select(Delivery).where(
            Delivery.campaign_id == campaign.id, Delivery.customer_id == customer.id
        )
    ).one()


# --- who may get one more ---------------------------------------------------------------


def test_without_rules_everyone_may_get_mail(session):
    customers = make_subscribers(session, 2)
    _sent_before(session, customers[0], *[timedelta(hours=h) for h in range(1, 6)])

    allowance = marketing_sends_allowed(session, [c.id for c in customers], NOW)

    assert allowance.allowed == sorted(c.id for c in customers)
    assert allowance.held == {}


def test_customer_at_the_cap_is_held_until_the_oldest_send_leaves_the_window(session):
    make_marketing_rules(session, **CAP_3_PER_7)
    capped, free = make_subscribers(session, 2)
    _sent_before(session, capped, timedelta(days=5), timedelta(days=2), timedelta(hours=1))
    _sent_before(session, free, timedelta(days=2), timedelta(hours=1))

    allowance = marketing_sends_allowed(session, [capped.id, free.id], NOW)

    assert allowance.allowed == [free.id]
    hold = allowance.held[capped.id]
    assert hold.reason == CAP
    assert hold.until == NOW - timedelta(days=5) + timedelta(days=7)


def test_the_cap_window_rolls_sends_older_than_the_period_no_longer_count(session):
    make_marketing_rules(session, **CAP_3_PER_7)
    (customer,) = make_subscribers(session, 1)
    _sent_before(session, customer, timedelta(days=7, minutes=1), timedelta(days=2), timedelta(1))

    assert marketing_sends_allowed(session, [customer.id], NOW).allowed == [customer.id]
    later = NOW + timedelta(days=2)
    assert marketing_sends_allowed(session, [customer.id], later).allowed == [customer.id]


def test_messages_in_flight_or_uncertain_count_towards_the_cap(session):
    make_marketing_rules(session, **{**CAP_3_PER_7, "cap_messages": "2"})
    (customer,) = make_subscribers(session, 1)
    in_flight = make_sending_campaign(session, name="In flight")
    make_delivery(
        session, in_flight, customer, state=DeliveryState.sending, sent_at=None, claimed_at=NOW
    )
    _sent_before(session, customer, timedelta(hours=2), state=DeliveryState.uncertain)

    assert marketing_sends_allowed(session, [customer.id], NOW).held[customer.id].reason == CAP


def test_failed_and_skipped_deliveries_do_not_count(session):
    make_marketing_rules(session, **{**CAP_3_PER_7, "cap_messages": "1"})
    (customer,) = make_subscribers(session, 1)
    _sent_before(session, customer, timedelta(hours=1), state=DeliveryState.failed)
    _sent_before(session, customer, timedelta(hours=2), state=DeliveryState.skipped)

    assert marketing_sends_allowed(session, [customer.id], NOW).allowed == [customer.id]


def test_support_mail_is_exempt_from_the_cap(session):
    make_marketing_rules(session, **{**CAP_3_PER_7, "cap_messages": "1"})
    (customer,) = make_subscribers(session, 1)
    ticket = make_ticket(session, customer_email=customer.email)
    for kind in (MessageKind.acknowledgement, MessageKind.reply, MessageKind.reply):
        make_message(session, ticket, kind=kind, body_text="Thanks for writing")
    campaign = make_campaign_in_sending(session, [customer])

    assert claim_batch(session, campaign.id, "w1", 10, NOW) == [
        _delivery(session, campaign, customer).id
    ]


@pytest.mark.parametrize(
    ("seoul", "until_seoul"),
    [
        ((23, 30), (2026, 12, 5, 7, 0)),  # before midnight: until tomorrow morning
        ((2, 0), (2026, 12, 4, 7, 0)),  # after midnight: until this morning
        ((6, 59), (2026, 12, 4, 7, 0)),
        ((22, 0), (2026, 12, 5, 7, 0)),  # the start itself is quiet
    ],
)
def test_quiet_hours_across_midnight_hold_until_they_end(session, seoul, until_seoul):
    make_marketing_rules(session, **NIGHTS_IN_SEOUL)
    (customer,) = make_subscribers(session, 1)
    now = datetime(2026, 12, 4, *seoul, tzinfo=UTC) - timedelta(hours=9)

    hold = marketing_sends_allowed(session, [customer.id], now).held[customer.id]

    assert hold.reason == QUIET_HOURS
    assert hold.until == datetime(*until_seoul, tzinfo=UTC) - timedelta(hours=9)


@pytest.mark.parametrize("seoul", [(7, 0), (12, 0), (21, 59)])
def test_outside_quiet_hours_mail_may_go(session, seoul):
    make_marketing_rules(session, **NIGHTS_IN_SEOUL)
    (customer,) = make_subscribers(session, 1)
    now = datetime(2026, 12, 4, *seoul, tzinfo=UTC) - timedelta(hours=9)

    assert marketing_sends_allowed(session, [customer.id], now).allowed == [customer.id]


def test_quiet_hours_within_one_day(session):
    make_marketing_rules(
        session, quiet_enabled=True, quiet_start="12:00", quiet_end="13:30", timezone="UTC"
    )
    (customer,) = make_subscribers(session, 1)

    held = marketing_sends_allowed(session, [customer.id], NOW.replace(hour=12, minute=10))
    assert held.held[customer.id].until == NOW.replace(hour=13, minute=30)
    assert marketing_sends_allowed(session, [customer.id], NOW).allowed == [customer.id]


def test_a_capped_message_due_in_quiet_hours_waits_for_them_to_end(session):
    make_marketing_rules(session, **{**CAP_3_PER_7, "cap_messages": "1"}, **NIGHTS_IN_SEOUL)
    (customer,) = make_subscribers(session, 1)
    # Sent at 23:00 in Seoul; the cap lets the next one go at 23:00 a week later, in
    # quiet hours, so it waits for 07:00 the next morning.
    sent_at = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
    _sent_before(session, customer, NOW - sent_at)

    hold = marketing_sends_allowed(session, [customer.id], NOW).held[customer.id]

    assert hold.reason == CAP
    assert hold.until == datetime(2026, 12, 10, 22, 0, tzinfo=UTC)


# --- the claim: defer or skip -----------------------------------------------------------


def test_claim_defers_a_capped_delivery_and_sends_it_once_allowed(session):
    make_marketing_rules(session, **{**CAP_3_PER_7, "cap_messages": "1"})
    capped, free = make_subscribers(session, 2)
    _sent_before(session, capped, timedelta(days=1))
    campaign = make_campaign_in_sending(session, [capped, free])

    claimed = claim_batch(session, campaign.id, "w1", 10, NOW)
    session.commit()

    assert claimed == [_delivery(session, campaign, free).id]
    deferred = _delivery(session, campaign, capped)
    assert deferred.state == DeliveryState.pending
    assert deferred.held_by_cap is True
    assert deferred.next_attempt_at == NOW + timedelta(days=6)
    assert claim_batch(session, campaign.id, "w1", 10, NOW + timedelta(days=5)) == []
    assert claim_batch(session, campaign.id, "w1", 10, NOW + timedelta(days=6)) == [deferred.id]


def test_claim_skips_a_capped_delivery_when_the_campaign_says_skip(session):
    make_marketing_rules(session, **{**CAP_3_PER_7, "cap_messages": "1"})
    (capped,) = make_subscribers(session, 1)
    _sent_before(session, capped, timedelta(days=1))
    campaign = make_campaign_in_sending(session, [capped], hold_action="skip")

    assert claim_batch(session, campaign.id, "w1", 10, NOW) == []
    session.commit()

    skipped = _delivery(session, campaign, capped)
    assert skipped.state == DeliveryState.skipped
    assert skipped.held_by_cap is True
    assert "frequency cap" in skipped.last_error


def test_claim_defers_deliveries_in_quiet_hours_to_their_end(session):
    make_marketing_rules(session, **NIGHTS_IN_SEOUL)
    customers = make_subscribers(session, 3)
    campaign = make_campaign_in_sending(session, customers)
    night = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # 00:00 in Seoul

    assert claim_batch(session, campaign.id, "w1", 2, night) == []
    session.commit()

    rows = session.scalars(select(Delivery).where(Delivery.campaign_id == campaign.id)).all()
    assert {(r.state, r.held_by_quiet_hours, r.next_attempt_at) for r in rows} == {
        (DeliveryState.pending, True, datetime(2026, 12, 4, 22, 0, tzinfo=UTC))
    }


def test_claim_looks_past_a_batch_held_back_entirely(session):
    make_marketing_rules(session, **{**CAP_3_PER_7, "cap_messages": "1"})
    customers = make_subscribers(session, 4)
    for customer in customers[:2]:
        _sent_before(session, customer, timedelta(days=1))
    campaign = make_campaign_in_sending(session, customers)

    claimed = claim_batch(session, campaign.id, "w1", 2, NOW)

    assert claimed == sorted(_delivery(session, campaign, c).id for c in customers[2:])


def test_only_due_deliveries_give_a_campaign_work_for_the_check(session):
    make_marketing_rules(session, **{**CAP_3_PER_7, "cap_messages": "1"})
    (capped,) = make_subscribers(session, 1)
    _sent_before(session, capped, timedelta(days=1))
    campaign = make_campaign_in_sending(session, [capped])
    claim_batch(session, campaign.id, "w1", 10, NOW)
    session.commit()

    assert campaigns_with_work(session, NOW + timedelta(days=5)) == []
    assert campaigns_with_work(session, NOW + timedelta(days=6)) == [campaign.id]


# --- the report -------------------------------------------------------------------------


def test_report_counts_deferred_and_skipped_by_each_rule(session):
    make_marketing_rules(session, **{**CAP_3_PER_7, "cap_messages": "1"}, **NIGHTS_IN_SEOUL)
    capped_deferred, capped_skipped, quiet = make_subscribers(session, 3)
    for customer in (capped_deferred, capped_skipped):
        _sent_before(session, customer, timedelta(days=1))
    deferring = make_campaign_in_sending(session, [capped_deferred, quiet])
    skipping = make_campaign_in_sending(session, [capped_skipped], hold_action="skip")
    night = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    claim_batch(session, deferring.id, "w1", 10, night)
    claim_batch(session, skipping.id, "w1", 10, night)
    session.commit()

    deferred = campaign_figures(session, deferring.id)
    skipped = campaign_figures(session, skipping.id)

    assert (deferred.deferred_by_cap, deferred.deferred_by_quiet_hours) == (1, 1)
    assert (deferred.skipped_by_cap, deferred.pending) == (0, 2)
    assert (skipped.skipped_by_cap, skipped.skipped, skipped.deferred_by_cap) == (1, 1, 0)


# --- saving the rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({**CAP_3_PER_7, "cap_messages": "0"}, "cap_messages"),
        ({**CAP_3_PER_7, "cap_messages": "three"}, "cap_messages"),
        ({**CAP_3_PER_7, "cap_messages": "-1"}, "cap_messages"),
        ({**CAP_3_PER_7, "cap_days": "366"}, "cap_days"),
        ({**CAP_3_PER_7, "cap_days": "٣"}, "cap_days"),
        ({**NIGHTS_IN_SEOUL, "quiet_start": "25:00"}, "quiet_start"),
        ({**NIGHTS_IN_SEOUL, "quiet_end": ""}, "quiet_end"),
        ({**NIGHTS_IN_SEOUL, "quiet_end": "22:00"}, "quiet_end"),
        ({**NIGHTS_IN_SEOUL, "timezone": "Mars/Olympus"}, "timezone"),
    ],
)
def test_bad_rules_are_refused_and_change_nothing(session, values, field):
    make_marketing_rules(session, **{**CAP_3_PER_7, "cap_messages": "5"})

    with pytest.raises(RulesInvalid) as refused:
        marketing_rules.save_rules(session, RulesData(**values))
    session.rollback()

    assert field in refused.value.errors
    stored = session.get(MarketingRules, marketing_rules.RULES_ID)
    session.refresh(stored)
    assert (stored.cap_messages, stored.cap_days, stored.quiet_start) == (5, 7, None)


def test_saved_rules_are_read_back(session):
    make_marketing_rules(session, **CAP_3_PER_7, **NIGHTS_IN_SEOUL)
    session.expire_all()

    rules = marketing_rules.get_rules(session)

    assert (rules.cap_messages, rules.cap_days) == (3, 7)
    assert (rules.quiet_start, rules.quiet_end) == (time(22, 0), time(7, 0))
    assert rules.timezone == "Asia/Seoul"


def test_turning_the_cap_off_lets_everyone_through_again(session):
    make_marketing_rules(session, **{**CAP_3_PER_7, "cap_messages": "1"})
    (customer,) = make_subscribers(session, 1)
    _sent_before(session, customer, timedelta(days=1))
    make_marketing_rules(session, cap_enabled=False)

    assert marketing_sends_allowed(session, [customer.id], NOW).allowed == [customer.id]
