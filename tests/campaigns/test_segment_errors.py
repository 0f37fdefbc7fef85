"""Rules that cannot be used raise SegmentError with a message that says why."""

from __future__ import annotations

import pytest

from helpdesk.campaigns.segments import SegmentError, compile_segment
from tests.campaigns.segment_support import matching, one
from tests.factories import make_custom_field


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (one("favourite_colour", "eq", "red"), 'unknown field "favourite_colour"'),
        (one("email", "gt", "a"), '"gt" does not apply to email'),
        (one("purchase.total", "gt", "lots"), '"lots" is not a number'),
        (one("purchase.total", "gt", True), "enter a number"),
        (one("purchase.last", "after", "2026-13-01"), "is not a date"),
        (one("engagement.opened", "within_days", -3), "between 1 and"),
        (one("engagement.opened", "within_days", "soon"), "whole number of days"),
        (one("tag", "has", ""), "enter a value"),
        (one("subscription_status", "eq", "maybe"), '"maybe" is not a status'),
        ({"match": "all", "groups": [{"match": "all", "conditions": []}]}, "Group 1 is empty"),
        ({"match": "most", "groups": []}, '"match" must be "all" or "any"'),
        ({"match": "all", "groups": "everyone"}, '"groups" must be a list'),
        ([1, 2], "must be an object"),
        ({"groups": [{"conditions": ["email"]}]}, "condition 1: must be an object"),
    ],
)
def test_bad_rules_raise_segment_error(rules, message):
    with pytest.raises(SegmentError, match=message.replace("(", r"\(")):
        compile_segment(rules, {})


def test_unknown_custom_field_is_refused(session):
    with pytest.raises(SegmentError, match='unknown custom field "plan"'):
        matching(session, one("custom.plan", "eq", "pro"))


def test_number_field_refuses_text_value(session):
    make_custom_field(session, key="seats", label="Seats", field_type="number")
    with pytest.raises(SegmentError, match='"many" is not a number'):
        matching(session, one("custom.seats", "gt", "many"))


def test_text_field_refuses_number_ops(session):
    make_custom_field(session, key="plan", label="Plan", field_type="text")
    with pytest.raises(SegmentError, match='"gt" does not apply to custom.plan'):
        matching(session, one("custom.plan", "gt", 3))


def test_choice_field_refuses_value_outside_its_choices(session):
    make_custom_field(session, key="region", label="Region", field_type="choice", choices="north")
    with pytest.raises(SegmentError, match='"east" is not a choice'):
        matching(session, one("custom.region", "eq", "east"))


def test_error_names_the_group_and_condition():
    rules = {
        "match": "any",
        "groups": [
            {"match": "all", "conditions": [{"field": "email", "op": "contains", "value": "a"}]},
            {
                "match": "all",
                "conditions": [
                    {"field": "email", "op": "contains", "value": "a"},
                    {"field": "nope", "op": "eq", "value": "a"},
                ],
            },
        ],
    }
    with pytest.raises(SegmentError, match="Group 2, condition 2"):
        compile_segment(rules, {})
