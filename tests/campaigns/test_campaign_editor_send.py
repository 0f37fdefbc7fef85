"""Test sends through a real SMTP server, scheduling in the user's time zone, send now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue, SimpleWorker
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select

from helpdesk.campaigns import service
from helpdesk.campaigns.models import Campaign, CampaignStatus, Delivery
from helpdesk.queue import CAMPAIGN_QUEUE, MAIL_QUEUE
from tests.factories import make_campaign, make_customer, make_segment
from tests.helpers import post_form


@pytest.fixture
def config(config, smtp_sink):
    return config.with_overrides(smtp_url=smtp_sink.url)


def _run_mail_jobs(redis_conn) -> None:
    SimpleWorker([MAIL_QUEUE], connection=redis_conn).work(burst=True)


def test_test_send_delivers_a_personalized_copy_to_each_address(
    marketer_client, session, redis_conn, smtp_handler
):
    campaign = make_campaign(
        session,
        subject="Hi {{ customer.name }}",
        html_body='<p>Hi {{ customer.name }}</p><a href="https://shop.example/">Shop</a>',
    )
    customer = make_customer(session, email="minji@example.com", name="김민지")
    response = post_form(
        marketer_client,
        f"/campaigns/{campaign.id}/test",
        {"addresses": "me@team.example, boss@team.example", "customer_id": customer.id},
    )
    assert response.status_code == 302
    _run_mail_jobs(redis_conn)
    assert smtp_handler.recipients() == {"me@team.example": 1, "boss@team.example": 1}
    message = smtp_handler.received[0].message
    assert message["Subject"] == "[Test] Hi 김민지"
    assert message["From"] == "Shop <news@shop.example>"
    assert "Hi 김민지" in message.get_body(("html",)).get_content()
    assert "Shop (https://shop.example/)" in message.get_body(("plain",)).get_content()
    # A test send is not a delivery: reports must not count it.
    assert session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_test_send_to_bad_addresses_is_refused_and_queues_nothing(
    marketer_client, session, redis_conn
):
    campaign = make_campaign(session)
    response = post_form(
        marketer_client, f"/campaigns/{campaign.id}/test", {"addresses": "ok@x.example, nope@"}
    )
    assert response.status_code == 400
    assert b"Not valid email addresses: nope@" in response.data
    assert Queue(MAIL_QUEUE, connection=redis_conn).count == 0


def test_test_send_without_addresses_is_refused(marketer_client, session, redis_conn):
    campaign = make_campaign(session)
    response = post_form(marketer_client, f"/campaigns/{campaign.id}/test", {"addresses": ""})
    assert response.status_code == 400
    assert b"Enter at least one address." in response.data
    assert Queue(MAIL_QUEUE, connection=redis_conn).count == 0


def test_schedule_uses_the_users_time_zone_and_stores_utc(
    marketer_client, marketer, session, redis_conn
):
    marketer.timezone = "Asia/Seoul"
    session.commit()
    segment = make_segment(session, {})
    campaign = make_campaign(session, segment_id=segment.id)
    local = (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=9, minute=30, second=0, microsecond=0
    )
    response = post_form(
        marketer_client,
        f"/campaigns/{campaign.id}/schedule",
        {"send_at": local.strftime("%Y-%m-%dT%H:%M"), "action": "schedule"},
    )
    assert response.status_code == 302
    session.expire_all()
    saved = session.get(Campaign, campaign.id)
    assert saved.status == CampaignStatus.scheduled
    # 09:30 in Seoul (UTC+9) is 00:30 UTC.
    assert saved.scheduled_at == local.replace(hour=0, minute=30, tzinfo=UTC)
    registry = ScheduledJobRegistry(CAMPAIGN_QUEUE, connection=redis_conn)
    assert len(registry.get_job_ids()) == 1


def test_schedule_in_the_past_is_refused(marketer_client, session, redis_conn):
    segment = make_segment(session, {})
    campaign = make_campaign(session, segment_id=segment.id)
    response = post_form(
        marketer_client,
        f"/campaigns/{campaign.id}/schedule",
        {"send_at": "2020-01-01T09:00", "action": "schedule"},
    )
    assert response.status_code == 400
    assert b"Choose a time in the future" in response.data
    session.expire_all()
    assert session.get(Campaign, campaign.id).status == CampaignStatus.draft


def test_schedule_with_unreadable_time_is_refused(marketer_client, session):
    segment = make_segment(session, {})
    campaign = make_campaign(session, segment_id=segment.id)
    response = post_form(
        marketer_client,
        f"/campaigns/{campaign.id}/schedule",
        {"send_at": "next tuesday", "action": "schedule"},
    )
    assert response.status_code == 400
    assert b"Enter a date and time." in response.data


def test_sending_without_a_segment_is_refused(marketer_client, session):
    campaign = make_campaign(session)
    response = post_form(
        marketer_client, f"/campaigns/{campaign.id}/schedule", {"action": "send_now"}
    )
    assert response.status_code == 400
    assert b"Choose a segment before sending." in response.data
    session.expire_all()
    assert session.get(Campaign, campaign.id).status == CampaignStatus.draft


def test_send_now_snapshots_the_segment(marketer_client, session, redis_conn):
    make_customer(session, email="a@example.com", subscription_status="subscribed")
    make_customer(session, email="b@example.com")
    segment = make_segment(session, {})
    campaign = make_campaign(session, segment_id=segment.id)
    response = post_form(
        marketer_client, f"/campaigns/{campaign.id}/schedule", {"action": "send_now"}
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Campaign, campaign.id).status == CampaignStatus.sending
    assert list(session.scalars(select(Delivery.email))) == ["a@example.com"]


def test_scheduled_campaign_starts_when_due_and_not_before(session):
    make_customer(session, email="a@example.com", subscription_status="subscribed")
    segment = make_segment(session, {})
    campaign = make_campaign(session, segment_id=segment.id)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    service.schedule_campaign(session, campaign.id, now + timedelta(hours=1), now=now)
    session.commit()
    assert not service.start_if_due(session, campaign.id, enqueue_jobs=None, now=now)
    assert service.start_if_due(
        session, campaign.id, enqueue_jobs=None, now=now + timedelta(hours=1)
    )
    session.expire_all()
    assert session.get(Campaign, campaign.id).status == CampaignStatus.sending


def test_unscheduled_campaign_does_not_start(session):
    segment = make_segment(session, {})
    campaign = make_campaign(session, segment_id=segment.id)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    service.schedule_campaign(session, campaign.id, now + timedelta(hours=1), now=now)
    service.unschedule_campaign(session, campaign.id)
    session.commit()
    assert not service.start_if_due(
        session, campaign.id, enqueue_jobs=None, now=now + timedelta(hours=2)
    )
    assert session.get(Campaign, campaign.id).status == CampaignStatus.draft


@pytest.mark.parametrize("from_name", ["Shop <News>", 'The "Best", Shop', "쇼핑 뉴스 " * 8])
def test_test_send_keeps_a_from_name_with_specials_as_the_name(
    marketer_client, session, redis_conn, smtp_handler, from_name
):
    campaign = make_campaign(session, from_name=from_name)
    response = post_form(
        marketer_client, f"/campaigns/{campaign.id}/test", {"addresses": "me@team.example"}
    )
    assert response.status_code == 302
    _run_mail_jobs(redis_conn)
    [sender] = smtp_handler.received[0].message["From"].addresses
    assert sender.addr_spec == "news@shop.example"
    assert "".join(sender.display_name.split()) == "".join(campaign.from_name.split())
