"""Groups join with AND/OR, and suppressed or unsubscribed customers never match."""

from __future__ import annotations

from helpdesk.campaigns.models import SuppressionReason
from helpdesk.campaigns.suppression import suppress
from tests.campaigns.segment_support import NOW, matching
from tests.factories import make_custom_field, make_customer


def subscriber(session, email, **overrides):
    return make_customer(session, email=email, subscription_status="subscribed", **overrides)


def _people(session):
    make_custom_field(session, key="plan", label="Plan", field_type="text")
    subscriber(session, "pro-vip@example.com", fields={"plan": "pro"}, tags=["vip"])
    subscriber(session, "pro@example.com", fields={"plan": "pro"})
    subscriber(session, "vip@example.com", tags=["vip"])
    subscriber(session, "nobody@example.com")


PRO = {"field": "custom.plan", "op": "eq", "value": "pro"}
VIP = {"field": "tag", "op": "has", "value": "vip"}


def test_all_within_a_group_needs_every_condition(session):
    _people(session)
    rules = {"match": "all", "groups": [{"match": "all", "conditions": [PRO, VIP]}]}
    assert matching(session, rules) == {"pro-vip@example.com"}


def test_any_within_a_group_needs_one_condition(session):
    _people(session)
    rules = {"match": "all", "groups": [{"match": "any", "conditions": [PRO, VIP]}]}
    assert matching(session, rules) == {"pro-vip@example.com", "pro@example.com", "vip@example.com"}


def test_groups_joined_with_any(session):
    _people(session)
    rules = {
        "match": "any",
        "groups": [
            {
                "match": "all",
                "conditions": [PRO, {"field": "tag", "op": "has_not", "value": "vip"}],
            },
            {"match": "all", "conditions": [VIP, {"field": "custom.plan", "op": "is_not_set"}]},
        ],
    }
    assert matching(session, rules) == {"pro@example.com", "vip@example.com"}


def test_groups_joined_with_all(session):
    _people(session)
    rules = {
        "match": "all",
        "groups": [{"match": "any", "conditions": [PRO]}, {"match": "any", "conditions": [VIP]}],
    }
    assert matching(session, rules) == {"pro-vip@example.com"}


def test_no_groups_matches_every_subscriber(session):
    _people(session)
    make_customer(session, email="not-subscribed@example.com")
    assert matching(session, {"match": "all", "groups": []}) == {
        "pro-vip@example.com",
        "pro@example.com",
        "vip@example.com",
        "nobody@example.com",
    }


def test_suppressed_address_never_matches_whatever_the_rules(session):
    _people(session)
    suppress(session, "PRO@example.com", SuppressionReason.hard_bounce, now=NOW)
    session.commit()
    rules = {"match": "any", "groups": [{"match": "any", "conditions": [PRO, VIP]}]}
    assert "pro@example.com" not in matching(session, rules)
    assert "pro@example.com" not in matching(session, rules, sendable=False)
    assert "pro@example.com" not in matching(session, {"groups": []}, sendable=False)


def test_unsubscribed_customer_never_matches(session):
    make_customer(session, email="gone@example.com", subscription_status="unsubscribed")
    rules = {
        "match": "all",
        "groups": [
            {
                "match": "all",
                "conditions": [
                    {"field": "subscription_status", "op": "eq", "value": "unsubscribed"}
                ],
            }
        ],
    }
    assert matching(session, rules, sendable=False) == set()


def test_mailed_segment_requires_subscribed_status(session):
    subscriber(session, "yes@example.com")
    make_customer(session, email="never-asked@example.com")
    assert matching(session, {"groups": []}) == {"yes@example.com"}
    assert matching(session, {"groups": []}, sendable=False) == {
        "yes@example.com",
        "never-asked@example.com",
    }
