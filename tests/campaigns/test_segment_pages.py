"""The segment pages: save, plain-form preview, the live JSON count, bad rules, roles."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from helpdesk.campaigns.models import Segment
from tests.factories import make_customer, make_segment
from tests.helpers import csrf_token, post_form

PRO_RULES = {
    "match": "all",
    "groups": [{"match": "all", "conditions": [{"field": "tag", "op": "has", "value": "pro"}]}],
}


def _subscribers(session):
    make_customer(session, email="a@example.com", subscription_status="subscribed", tags=["pro"])
    make_customer(session, email="b@example.com", subscription_status="subscribed")


def _segment_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Segment))


def test_marketer_saves_a_segment(marketer_client, session):
    response = post_form(
        marketer_client,
        "/segments/new",
        {"name": "Pro", "rules": json.dumps(PRO_RULES), "action": "save"},
    )
    assert response.status_code == 302
    segment = session.scalars(select(Segment)).one()
    assert segment.name == "Pro"
    assert segment.rules == PRO_RULES


def test_bad_rules_show_the_error_and_save_nothing(marketer_client, session):
    rules = {"match": "all", "groups": [{"match": "all", "conditions": []}]}
    response = post_form(
        marketer_client,
        "/segments/new",
        {"name": "Broken", "rules": json.dumps(rules), "action": "save"},
    )
    assert response.status_code == 400
    assert b"Group 1 is empty" in response.data
    assert _segment_count(session) == 0


def test_rules_that_are_not_json_are_refused(marketer_client, session):
    response = post_form(
        marketer_client, "/segments/new", {"name": "X", "rules": "{oops", "action": "save"}
    )
    assert response.status_code == 400
    assert b"not valid JSON" in response.data
    assert _segment_count(session) == 0


def test_missing_name_is_refused(marketer_client, session):
    response = post_form(
        marketer_client, "/segments/new", {"name": " ", "rules": "{}", "action": "save"}
    )
    assert response.status_code == 400
    assert b"Enter a name." in response.data
    assert _segment_count(session) == 0


def test_plain_form_preview_shows_count_and_sample_without_saving(marketer_client, session):
    _subscribers(session)
    response = post_form(
        marketer_client,
        "/segments/new",
        {"name": "Pro", "rules": json.dumps(PRO_RULES), "action": "preview"},
    )
    assert response.status_code == 200
    assert b'id="segment-count">1<' in response.data
    assert b"a@example.com" in response.data
    assert b"b@example.com" not in response.data
    assert _segment_count(session) == 0


def test_json_preview_returns_count_and_sample(marketer_client, session):
    _subscribers(session)
    response = marketer_client.post(
        "/segments/preview.json",
        json={"rules": PRO_RULES},
        headers={"X-CSRFToken": csrf_token(marketer_client)},
    )
    assert response.status_code == 200
    assert response.json["count"] == 1
    assert [c["email"] for c in response.json["sample"]] == ["a@example.com"]


def test_json_preview_of_bad_rules_is_a_400_with_the_message(marketer_client):
    response = marketer_client.post(
        "/segments/preview.json",
        json={"rules": {"groups": [{"conditions": [{"field": "shoe_size", "op": "eq"}]}]}},
        headers={"X-CSRFToken": csrf_token(marketer_client)},
    )
    assert response.status_code == 400
    assert 'unknown field "shoe_size"' in response.json["error"]


def test_json_preview_without_rules_is_a_400(marketer_client):
    response = marketer_client.post(
        "/segments/preview.json", json=[], headers={"X-CSRFToken": csrf_token(marketer_client)}
    )
    assert response.status_code == 400
    assert "error" in response.json


def test_json_preview_needs_the_csrf_token(marketer_client):
    response = marketer_client.post("/segments/preview.json", json={"rules": PRO_RULES})
    assert response.status_code == 400


def test_edit_segment_keeps_old_rules_when_new_ones_are_bad(marketer_client, session):
    segment = make_segment(session, PRO_RULES, name="Pro")
    response = post_form(
        marketer_client,
        f"/segments/{segment.id}",
        {"name": "Pro", "rules": '{"match": "every"}', "action": "save"},
    )
    assert response.status_code == 400
    session.expire_all()
    assert session.get(Segment, segment.id).rules == PRO_RULES


def test_delete_segment(marketer_client, session):
    segment = make_segment(session, PRO_RULES)
    response = post_form(marketer_client, f"/segments/{segment.id}/delete")
    assert response.status_code == 302
    assert _segment_count(session) == 0


def test_agent_cannot_see_segments(agent_client, session):
    segment = make_segment(session, PRO_RULES)
    assert agent_client.get("/segments").status_code == 403
    assert agent_client.get(f"/segments/{segment.id}").status_code == 403
    response = agent_client.post(
        "/segments/preview.json",
        json={"rules": PRO_RULES},
        headers={"X-CSRFToken": csrf_token(agent_client)},
    )
    assert response.status_code == 403


def test_segment_list_and_builder_page_render(admin_client, session):
    segment = make_segment(session, PRO_RULES, name="Loyal pros")
    assert b"Loyal pros" in admin_client.get("/segments").data
    page = admin_client.get(f"/segments/{segment.id}")
    assert page.status_code == 200
    assert b'id="rule-builder"' in page.data
