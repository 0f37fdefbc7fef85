"""Advertising campaigns under Korean law: "(광고)" subject, Korean footer, night-time rule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from helpdesk.campaigns import jobs
from helpdesk.campaigns.advertising import (
    MarketingSettingsError,
    marketing_settings,
    morning_after,
    update_marketing_settings,
)
from helpdesk.campaigns.deliveries import claim_batch
from helpdesk.campaigns.models import Delivery, MarketingSettings, NightAdMode
from helpdesk.campaigns.sending import start_sending
from helpdesk.db import utcnow
from tests.campaigns.sending_support import run_campaign_jobs
from tests.factories import make_sending_campaign, make_subscribers

# 22:30 KST and 08:00 KST on 4 December 2026.
NIGHT = datetime(2026, 12, 4, 13, 30, tzinfo=UTC)
MORNING = datetime(2026, 12, 4, 23, 0, tzinfo=UTC)


def _send(session, config, redis_conn, campaign) -> None:
    start_sending(session, campaign.id, utcnow(), enqueue_jobs=jobs.enqueuer(config))
    run_campaign_jobs(redis_conn)


def _consenting_subscriber(session):
    """A subscriber with the night-time consent, so the mail leaves whatever the hour of
    the test run, with the sender the footer names."""
    update_marketing_settings(
        session,
        sender_name="봄꽃상회",
        sender_contact="서울시 중구 1, 02-123-4567",
        night_mode="consent",
    )
    (customer,) = make_subscribers(session, 1)
    customer.night_ad_consent_at = NIGHT
    session.commit()


def test_advertising_subject_starts_with_the_marker(
    session, config, redis_conn, worker_env, smtp_handler
):
    _consenting_subscriber(session)
    campaign = make_sending_campaign(session, advertising=True)

    _send(session, config, redis_conn, campaign)

    (received,) = smtp_handler.received
    assert received.message["Subject"] == "(광고) News for Reader"


def test_marker_written_by_the_marketer_is_not_doubled(
    session, config, redis_conn, worker_env, smtp_handler
):
    _consenting_subscriber(session)
    campaign = make_sending_campaign(session, advertising=True, subject="(광고) 봄 세일")

    _send(session, config, redis_conn, campaign)

    (received,) = smtp_handler.received
    assert received.message["Subject"] == "(광고) 봄 세일"


def test_advertising_footer_names_the_sender_and_the_refusal_in_both_parts(
    session, config, redis_conn, worker_env, smtp_handler
):
    _consenting_subscriber(session)
    campaign = make_sending_campaign(session, advertising=True)

    _send(session, config, redis_conn, campaign)

    message = smtp_handler.received[0].message
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    for part in (html, text):
        assert "봄꽃상회, 서울시 중구 1, 02-123-4567" in part
        assert "수신거부" in part
        assert "https://helpdesk.test/u/" in part


def test_campaign_that_is_not_advertising_has_no_marker_or_footer(
    session, config, redis_conn, worker_env, smtp_handler
):
    _consenting_subscriber(session)
    campaign = make_sending_campaign(session)

    _send(session, config, redis_conn, campaign)

    message = smtp_handler.received[0].message
    assert message["Subject"] == "News for Reader"
    assert "봄꽃상회" not in message.get_body(("plain",)).get_content()


def test_morning_after_night_is_eight_o_clock_kst():
    assert morning_after(NIGHT) == MORNING
    assert morning_after(datetime(2026, 12, 4, 20, 0, tzinfo=UTC)) == MORNING  # 05:00 KST
    assert morning_after(datetime(2026, 12, 4, 3, 0, tzinfo=UTC)) is None  # 12:00 KST


def _started_advertising(session, count=2):
    customers = make_subscribers(session, count)
    campaign = make_sending_campaign(session, advertising=True)
    start_sending(session, campaign.id, NIGHT)
    return customers, campaign


def test_night_advertising_is_deferred_until_eight_in_defer_mode(session):
    _, campaign = _started_advertising(session)

    claimed = claim_batch(session, campaign.id, "w1", 10, NIGHT)
    session.commit()

    assert claimed == []
    due = set(session.scalars(select(Delivery.next_attempt_at)))
    assert due == {MORNING}


def test_deferred_deliveries_are_claimed_once_morning_comes(session):
    _, campaign = _started_advertising(session)
    claim_batch(session, campaign.id, "w1", 10, NIGHT)
    session.commit()

    claimed = claim_batch(session, campaign.id, "w1", 10, MORNING)
    session.commit()

    assert len(claimed) == 2


def test_consent_mode_sends_at_night_only_to_customers_with_night_consent(session):
    update_marketing_settings(session, sender_name="", sender_contact="", night_mode="consent")
    customers, campaign = _started_advertising(session)
    customers[0].night_ad_consent_at = NIGHT
    session.commit()

    claimed = claim_batch(session, campaign.id, "w1", 10, NIGHT)
    session.commit()

    emails = set(session.scalars(select(Delivery.email).where(Delivery.id.in_(claimed))))
    assert emails == {customers[0].email}
    waiting = session.scalars(select(Delivery).where(Delivery.id.not_in(claimed))).one()
    assert waiting.next_attempt_at == MORNING


def test_night_does_not_hold_a_campaign_that_is_not_advertising(session):
    make_subscribers(session, 2)
    campaign = make_sending_campaign(session)
    start_sending(session, campaign.id, NIGHT)

    assert len(claim_batch(session, campaign.id, "w1", 10, NIGHT)) == 2


def test_unknown_night_mode_is_refused_and_changes_nothing(session):
    update_marketing_settings(session, sender_name="A", sender_contact="B", night_mode="consent")

    with pytest.raises(MarketingSettingsError) as refused:
        update_marketing_settings(session, sender_name="C", sender_contact="D", night_mode="never")

    assert set(refused.value.errors) == {"night_mode"}
    session.expire_all()
    settings = session.scalars(select(MarketingSettings)).one()
    assert (settings.sender_name, settings.night_mode) == ("A", NightAdMode.consent)
    assert marketing_settings(session).id == settings.id


def test_test_send_of_an_advertising_campaign_shows_marker_and_footer(
    session, smtp_sink, smtp_handler
):
    from helpdesk.campaigns.editor_jobs import send_test_campaign
    from tests.factories import make_campaign

    update_marketing_settings(
        session, sender_name="봄꽃상회", sender_contact="02-123-4567", night_mode="defer"
    )
    campaign = make_campaign(session, subject="봄 세일", advertising=True)

    send_test_campaign(campaign.id, ["me@team.example"], None, smtp_sink.url, "helpdesk.test")

    message = smtp_handler.received[0].message
    assert message["Subject"] == "[Test] (광고) 봄 세일"
    assert "봄꽃상회, 02-123-4567" in message.get_body(("plain",)).get_content()


def test_advertising_without_the_senders_contact_cannot_be_sent(session):
    from helpdesk.campaigns import service
    from tests.factories import make_campaign

    campaign = make_campaign(session, advertising=True)

    with pytest.raises(service.CampaignInvalid) as refused:
        service.check_sendable(campaign)

    assert set(refused.value.errors) == {"advertising"}
