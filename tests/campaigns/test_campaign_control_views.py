"""Marketers pause, resume and cancel a campaign from its page."""

from __future__ import annotations

from sqlalchemy import func, select

from helpdesk.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState
from helpdesk.campaigns.sending import start_sending
from helpdesk.db import utcnow
from tests.factories import make_sending_campaign, make_subscribers
from tests.helpers import post_form


def _sending_campaign(session, recipients: int = 3) -> int:
    make_subscribers(session, recipients)
    campaign = make_sending_campaign(session)
    start_sending(session, campaign.id, utcnow())
    return campaign.id


def _status(session, campaign_id: int) -> CampaignStatus:
    session.expire_all()
    return session.get(Campaign, campaign_id).status


def test_pause_button_pauses_a_sending_campaign(marketer_client, session):
    campaign_id = _sending_campaign(session)
    response = post_form(marketer_client, f"/campaigns/{campaign_id}/control", {"action": "pause"})
    assert response.status_code == 302
    assert _status(session, campaign_id) == CampaignStatus.paused


def test_resume_button_queues_sending_again(marketer_client, session, redis_conn):
    campaign_id = _sending_campaign(session)
    post_form(marketer_client, f"/campaigns/{campaign_id}/control", {"action": "pause"})
    response = post_form(marketer_client, f"/campaigns/{campaign_id}/control", {"action": "resume"})
    assert response.status_code == 302
    assert _status(session, campaign_id) == CampaignStatus.sending


def test_cancel_button_skips_recipients_not_yet_sent(marketer_client, session):
    campaign_id = _sending_campaign(session)
    response = post_form(marketer_client, f"/campaigns/{campaign_id}/control", {"action": "cancel"})
    assert response.status_code == 302
    assert _status(session, campaign_id) == CampaignStatus.cancelled
    skipped = session.scalar(
        select(func.count()).where(
            Delivery.campaign_id == campaign_id, Delivery.state == DeliveryState.skipped
        )
    )
    assert skipped == 3


def test_resuming_a_campaign_that_is_not_paused_is_refused(marketer_client, session):
    campaign_id = _sending_campaign(session)
    response = post_form(marketer_client, f"/campaigns/{campaign_id}/control", {"action": "resume"})
    assert response.status_code == 409
    assert "cannot do that" in response.get_data(as_text=True)
    assert _status(session, campaign_id) == CampaignStatus.sending


def test_unknown_control_action_is_refused(marketer_client, session):
    campaign_id = _sending_campaign(session)
    response = post_form(marketer_client, f"/campaigns/{campaign_id}/control", {"action": "boom"})
    assert response.status_code == 400
    assert _status(session, campaign_id) == CampaignStatus.sending


def test_control_without_csrf_token_changes_nothing(marketer_client, session):
    campaign_id = _sending_campaign(session)
    response = marketer_client.post(f"/campaigns/{campaign_id}/control", data={"action": "cancel"})
    assert response.status_code == 400
    assert _status(session, campaign_id) == CampaignStatus.sending


def test_sending_campaign_page_offers_pause_and_cancel(marketer_client, session):
    campaign_id = _sending_campaign(session)
    page = marketer_client.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert 'value="pause"' in page
    assert 'value="cancel"' in page
    assert 'value="resume"' not in page


def test_paused_campaign_page_says_who_paused_it_in_the_viewers_language(
    marketer_client, session, marketer
):
    campaign_id = _sending_campaign(session)
    post_form(marketer_client, f"/campaigns/{campaign_id}/control", {"action": "pause"})
    assert "Paused by Mia Marketer." in marketer_client.get(f"/campaigns/{campaign_id}").text

    marketer.language = "ko"
    session.merge(marketer)
    session.commit()

    assert (
        "Mia Marketer 님이 일시 중지했습니다."
        in marketer_client.get(f"/campaigns/{campaign_id}").text
    )


def test_report_shows_the_failures_that_paused_a_campaign(marketer_client, session):
    campaign_id = _sending_campaign(session)
    campaign = session.get(Campaign, campaign_id)
    campaign.status = CampaignStatus.paused
    campaign.consecutive_failures = 20
    campaign.pause_reason = "554 5.7.1 Relay access denied"
    session.commit()

    page = marketer_client.get(f"/campaigns/{campaign_id}/report").text

    assert "Paused after 20 failed deliveries in a row; the last one:" in page
    assert "<code>554 5.7.1 Relay access denied</code>" in page


def test_resume_clears_who_paused_the_campaign(marketer_client, session):
    campaign_id = _sending_campaign(session)
    post_form(marketer_client, f"/campaigns/{campaign_id}/control", {"action": "pause"})
    post_form(marketer_client, f"/campaigns/{campaign_id}/control", {"action": "resume"})

    session.expire_all()
    campaign = session.get(Campaign, campaign_id)
    assert (campaign.paused_by, campaign.pause_reason) == ("", "")
    assert "Paused by" not in marketer_client.get(f"/campaigns/{campaign_id}").text
