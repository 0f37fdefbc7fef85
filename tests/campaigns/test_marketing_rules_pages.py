"""The marketing rules page, the campaign's hold setting and the report's figures."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from helpdesk.auth import service as auth_service
from helpdesk.campaigns.deliveries import claim_batch
from helpdesk.campaigns.models import Campaign, HoldAction, MarketingRules
from tests.factories import (
    make_campaign,
    make_campaign_in_sending,
    make_delivery,
    make_marketing_rules,
    make_sending_campaign,
    make_subscribers,
)
from tests.helpers import post_form

GOOD = {
    "cap_enabled": "y",
    "cap_messages": "3",
    "cap_days": "7",
    "quiet_enabled": "y",
    "quiet_start": "21:00",
    "quiet_end": "08:00",
    "timezone": "Asia/Seoul",
}


def _stored(session) -> MarketingRules | None:
    session.expire_all()
    return session.get(MarketingRules, 1)


def _checkbox(html: bytes, name: str) -> bytes:
    match = re.search(rb'<input[^>]*name="' + name.encode() + rb'"[^>]*>', html)
    assert match, f"no {name} box on the page"
    return match.group(0)


def test_page_shows_the_rules_off_by_default(marketer_client):
    response = marketer_client.get("/campaigns/rules")

    assert response.status_code == 200
    assert b"checked" not in _checkbox(response.data, "cap_enabled")
    assert b"checked" not in _checkbox(response.data, "quiet_enabled")


def test_saved_rules_show_ticked_on_the_page(marketer_client):
    post_form(marketer_client, "/campaigns/rules", GOOD)

    response = marketer_client.get("/campaigns/rules")

    assert b"checked" in _checkbox(response.data, "cap_enabled")
    assert b'value="21:00"' in response.data


def test_marketer_saves_a_cap_and_quiet_hours(marketer_client, session):
    response = post_form(marketer_client, "/campaigns/rules", GOOD)

    assert response.status_code == 302
    rules = _stored(session)
    assert (rules.cap_messages, rules.cap_days) == (3, 7)
    assert (rules.quiet_start, rules.quiet_end, rules.timezone) == (
        time(21, 0),
        time(8, 0),
        "Asia/Seoul",
    )


def test_unticked_boxes_turn_both_rules_off(marketer_client, session):
    make_marketing_rules(
        session, cap_enabled=True, cap_messages="2", cap_days="7", quiet_enabled=True,
        quiet_start="22:00", quiet_end="07:00",
    )  # fmt: skip
    form = {key: value for key, value in GOOD.items() if not key.endswith("_enabled")}

    assert post_form(marketer_client, "/campaigns/rules", form).status_code == 302

    rules = _stored(session)
    assert (rules.cap_messages, rules.quiet_start, rules.quiet_end) == (None, None, None)


def test_bad_input_shows_the_error_and_saves_nothing(marketer_client, session):
    response = post_form(marketer_client, "/campaigns/rules", GOOD | {"cap_messages": "lots"})

    assert response.status_code == 400
    assert b"Enter a whole number from 1 to 100." in response.data
    assert _stored(session) is None


def test_equal_start_and_end_of_quiet_hours_are_refused(marketer_client, session):
    response = post_form(marketer_client, "/campaigns/rules", GOOD | {"quiet_end": "21:00"})

    assert response.status_code == 400
    assert b"Quiet hours must end at another time than they start." in response.data
    assert _stored(session) is None


def test_errors_are_in_korean_for_a_korean_marketer(marketer_client, session, marketer):
    auth_service.update_preferences(session, marketer, language="ko", timezone="Asia/Seoul")
    session.commit()

    response = post_form(marketer_client, "/campaigns/rules", GOOD | {"quiet_start": "9pm"})

    assert response.status_code == 400
    assert "HH:MM 형식".encode() in response.data


def test_post_without_csrf_token_changes_nothing(marketer_client, session):
    response = marketer_client.post("/campaigns/rules", data=GOOD)

    assert response.status_code == 400
    assert _stored(session) is None


def test_campaign_editor_saves_skip_for_held_messages(marketer_client, session):
    campaign = make_campaign(session)
    form = {
        "name": campaign.name,
        "subject": campaign.subject,
        "from_name": campaign.from_name,
        "from_email": campaign.from_email,
        "html_body": campaign.html_body,
        "hold_action": "skip",
    }

    response = post_form(marketer_client, f"/campaigns/{campaign.id}", form)

    assert response.status_code == 302
    session.expire_all()
    assert session.get(Campaign, campaign.id).hold_action == HoldAction.skip


def test_campaign_editor_refuses_an_unknown_hold_action(marketer_client, session):
    campaign = make_campaign(session)
    form = {
        "name": campaign.name,
        "subject": campaign.subject,
        "from_email": campaign.from_email,
        "html_body": campaign.html_body,
        "hold_action": "later",
    }

    response = post_form(marketer_client, f"/campaigns/{campaign.id}", form)

    assert response.status_code == 400
    session.expire_all()
    assert session.get(Campaign, campaign.id).hold_action == HoldAction.defer


def test_report_shows_deferred_and_skipped_figures(marketer_client, session):
    make_marketing_rules(session, cap_enabled=True, cap_messages="1", cap_days="7")
    capped, free = make_subscribers(session, 2)
    earlier = make_sending_campaign(session, name="Earlier")
    now = datetime.now(UTC)
    make_delivery(session, earlier, capped, sent_at=now - timedelta(days=1))
    campaign = make_campaign_in_sending(session, [capped, free])
    claim_batch(session, campaign.id, "w1", 10, now)
    session.commit()

    response = marketer_client.get(f"/campaigns/{campaign.id}/report")

    assert response.status_code == 200
    assert b"Deferred by the frequency cap" in response.data
    assert b'data-figure="deferred_by_cap">1<' in response.data
    assert b'data-figure="skipped_by_cap">0<' in response.data


def test_report_without_held_messages_shows_no_rules_table(marketer_client, session):
    (customer,) = make_subscribers(session, 1)
    campaign = make_campaign_in_sending(session, [customer])

    response = marketer_client.get(f"/campaigns/{campaign.id}/report")

    assert response.status_code == 200
    assert b"held-back" not in response.data
    assert session.scalars(select(Campaign)).one().hold_action == HoldAction.defer
