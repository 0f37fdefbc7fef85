"""The probes that got a 500 before, each as the answer it gets now: a number too big for
an id column, JSON nested past the stack, a NUL character."""

from __future__ import annotations

import json

import pytest

from helpdesk.input_bounds import MAX_ID, UnacceptableJSON, bounded_int, loads_json
from tests.factories import make_campaign, make_faq_category, make_ticket
from tests.helpers import csrf_token, post_form

HUGE = str(2**63 + 1)


def test_an_id_past_the_column_range_in_the_path_is_a_404(agent_client):
    assert agent_client.get(f"/tickets/{HUGE}").status_code == 404
    assert agent_client.get(f"/tickets/{MAX_ID + 1}").status_code == 404


def test_a_huge_page_number_shows_the_first_page(agent_client):
    assert agent_client.get(f"/customers?page={HUGE}").status_code == 200


def test_a_huge_customer_in_the_campaign_preview_shows_the_sample_customer(
    marketer_client, session
):
    campaign = make_campaign(session)
    response = marketer_client.get(f"/campaigns/{campaign.id}/preview?customer_id={HUGE}")
    assert response.status_code == 200


def test_a_huge_category_in_the_faq_filter_is_ignored(agent_client, session):
    make_faq_category(session)
    assert agent_client.get(f"/faq/admin?category={HUGE}").status_code == 200


def test_a_huge_ticket_number_in_a_merge_is_a_form_error(agent_client, session):
    ticket = make_ticket(session)
    # Ten digits, as the form allowed before: past PostgreSQL's INTEGER all the same.
    response = post_form(agent_client, f"/tickets/{ticket.id}/merge", {"target_id": MAX_ID + 1})
    assert response.status_code == 400


def test_json_nested_past_the_stack_is_a_400(marketer_client):
    response = marketer_client.post(
        "/segments/preview.json",
        data="[" * 100_000,
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(marketer_client)},
    )
    assert response.status_code == 400
    assert "error" in response.get_json()


def test_segment_rules_nested_past_the_limit_are_a_form_error(marketer_client):
    response = post_form(marketer_client, "/segments/new", {"name": "Deep", "rules": "[" * 100_000})
    assert response.status_code == 400
    assert "nested deeper" in response.text


def test_a_nul_character_in_a_form_is_a_400_and_changes_nothing(agent_client, session):
    ticket = make_ticket(session)
    response = post_form(agent_client, f"/tickets/{ticket.id}/tags", {"tags": "vip\x00"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("42", 42),
        (" 42 ", 42),
        (7, 7),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        (HUGE, None),
        ("9" * 5000, None),
        ("-1", None),
        ("4_2", None),
        ("٤٢", None),  # Arabic-Indic digits: int() takes them, no id is written so
        ("", None),
        (None, None),
        (True, None),
        (["1"], None),
    ],
)
def test_bounded_int_takes_only_whole_numbers_an_id_column_holds(raw, expected):
    assert bounded_int(raw) == expected


def test_json_keeps_to_the_depth_limit():
    assert loads_json("[" * 32 + "]" * 32) is not None
    with pytest.raises(UnacceptableJSON):
        loads_json("[" * 33 + "]" * 33)
    with pytest.raises(UnacceptableJSON):
        loads_json('{"name": "a\\u0000b"}')


@pytest.mark.parametrize(
    "text",
    [
        "[" * 32 + "1" + "]" * 32,
        '{"a": ' * 32 + "{}" + "}" * 32,
        '{"a\\u0000": 1}',
        b'[{"name": "ok"}, {"name": "a\\u0000b"}]',
        '["a\\u0000b"]'.encode("utf-16"),
    ],
    ids=["value-too-deep", "dict-too-deep", "nul-in-key", "nul-in-bytes", "nul-in-utf16"],
)
def test_json_past_the_limits_is_refused_in_any_spelling(text):
    with pytest.raises(UnacceptableJSON):
        loads_json(text)


@pytest.mark.parametrize(
    "text", ['"text"', "7", "[" * 31 + "1" + "]" * 31, '["a\\\\u0000b"]', b'{"a": []}']
)
def test_json_within_the_limits_is_read(text):
    assert loads_json(text) == json.loads(text)
