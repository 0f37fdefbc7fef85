"""A campaign to 1,000 recipients through a real SMTP server: one message each, right headers."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from helpdesk.campaigns import jobs
from helpdesk.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState
from helpdesk.campaigns.sending import CampaignNotStartable, start_sending
from helpdesk.customers.models import SubscriptionStatus
from helpdesk.db import utcnow
from tests.campaigns.sending_support import run_campaign_jobs
from tests.factories import make_customer, make_sending_campaign, make_subscribers


def test_each_of_1000_recipients_gets_exactly_one_personalized_message(
    session, config, redis_conn, worker_env, smtp_handler
):
    make_subscribers(session, 1000)
    campaign = make_sending_campaign(session)

    total = start_sending(session, campaign.id, utcnow(), enqueue_jobs=jobs.enqueuer(config))
    run_campaign_jobs(redis_conn)

    assert total == 1000
    counts = smtp_handler.recipients()
    assert len(counts) == 1000
    assert set(counts.values()) == {1}
    session.expire_all()
    assert session.get(Campaign, campaign.id).status == CampaignStatus.sent
    states = dict(
        session.execute(
            select(Delivery.state, func.count())
            .where(Delivery.campaign_id == campaign.id)
            .group_by(Delivery.state)
        ).all()
    )
    assert states == {DeliveryState.sent: 1000}


def test_message_carries_ids_unsubscribe_headers_verp_and_personalization(
    session, config, redis_conn, worker_env, smtp_handler
):
    (customer,) = make_subscribers(session, 1)
    campaign = make_sending_campaign(session)
    start_sending(session, campaign.id, utcnow(), enqueue_jobs=jobs.enqueuer(config))
    run_campaign_jobs(redis_conn)

    (received,) = smtp_handler.received
    delivery = session.scalars(select(Delivery).where(Delivery.campaign_id == campaign.id)).one()
    message = received.message
    assert received.mail_from == f"bounces+{delivery.token}@helpdesk.test"
    assert message["Message-ID"] == delivery.message_id
    assert message["Date"]
    assert message["From"] == "Shop News <news@helpdesk.test>"
    assert message["To"] == customer.email
    assert message["Subject"] == "News for Reader"
    assert message.get_content_type() == "multipart/alternative"
    unsubscribe = message["List-Unsubscribe"]
    assert "<https://helpdesk.test/u/" in unsubscribe
    assert f"<mailto:unsubscribe+{delivery.token}@helpdesk.test" in unsubscribe
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "Hello Reader 0," in html
    assert "Hello Reader 0," in text
    assert "https://helpdesk.test/t/o/" in html
    assert 'href="https://helpdesk.test/t/c/' in html
    assert 'href="https://shop.example/spring"' not in html
    assert "https://helpdesk.test/u/" in html


def test_snapshot_leaves_out_customers_who_join_later_and_the_unsubscribed(session):
    make_subscribers(session, 3)
    make_customer(
        session, email="gone@example.com", subscription_status=SubscriptionStatus.unsubscribed
    )
    campaign = make_sending_campaign(session)

    total = start_sending(session, campaign.id, utcnow())
    make_subscribers(session, 2, start=100)

    assert total == 3
    emails = set(session.scalars(select(Delivery.email).where(Delivery.campaign_id == campaign.id)))
    assert emails == {"sub0@example.com", "sub1@example.com", "sub2@example.com"}
    assert len(set(session.scalars(select(Delivery.token)))) == 3


def test_a_campaign_already_sending_cannot_be_started_again(session):
    make_subscribers(session, 2)
    campaign = make_sending_campaign(session)
    start_sending(session, campaign.id, utcnow())

    with pytest.raises(CampaignNotStartable):
        start_sending(session, campaign.id, utcnow())
    assert session.scalar(select(func.count()).select_from(Delivery)) == 2


def test_a_campaign_without_a_segment_cannot_be_started(session):
    make_subscribers(session, 2)
    campaign = make_sending_campaign(session)
    campaign.segment_id = None
    session.commit()

    with pytest.raises(CampaignNotStartable):
        start_sending(session, campaign.id, utcnow())
    session.rollback()
    assert session.get(Campaign, campaign.id).status == CampaignStatus.draft
    assert session.scalar(select(func.count()).select_from(Delivery)) == 0
