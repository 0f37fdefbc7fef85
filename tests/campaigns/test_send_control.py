"""Pause, resume and cancel take effect before the next batch is claimed."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from helpdesk.campaigns import jobs
from helpdesk.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState
from helpdesk.campaigns.sending import (
    CampaignStateError,
    cancel_campaign,
    pause_campaign,
    resume_campaign,
    start_sending,
)
from helpdesk.db import utcnow
from tests.campaigns.sending_support import run_campaign_jobs
from tests.factories import make_sending_campaign, make_subscribers


def _states(session, campaign_id) -> Counter:
    session.expire_all()
    return Counter(
        session.scalars(select(Delivery.state).where(Delivery.campaign_id == campaign_id))
    )


def test_a_paused_campaign_sends_nothing_until_resumed(
    session, config, redis_conn, worker_env, smtp_handler
):
    make_subscribers(session, 6)
    campaign = make_sending_campaign(session)
    start_sending(session, campaign.id, utcnow(), enqueue_jobs=jobs.enqueuer(config))
    pause_campaign(session, campaign.id, utcnow(), paused_by="Ana")
    session.commit()

    run_campaign_jobs(redis_conn)
    assert smtp_handler.received == []
    assert _states(session, campaign.id) == {DeliveryState.pending: 6}

    resume_campaign(session, campaign.id, utcnow(), enqueue_jobs=jobs.enqueuer(config))
    run_campaign_jobs(redis_conn)
    assert len(smtp_handler.recipients()) == 6
    assert _states(session, campaign.id) == {DeliveryState.sent: 6}
    assert session.get(Campaign, campaign.id).status == CampaignStatus.sent


def test_pause_stops_workers_between_batches(
    session, config, redis_conn, worker_env, smtp_handler, monkeypatch
):
    monkeypatch.setenv("CAMPAIGN_BATCH_SIZE", "4")
    make_subscribers(session, 12)
    campaign = make_sending_campaign(session)

    def pause_after_first_batch(address):
        if len(smtp_handler.received) == 3:
            from helpdesk.db import session_scope

            with session_scope() as other:
                pause_campaign(other, campaign.id, utcnow(), paused_by="Ana")
        return None

    smtp_handler.on_data = pause_after_first_batch
    start_sending(session, campaign.id, utcnow(), enqueue_jobs=jobs.enqueuer(config))
    run_campaign_jobs(redis_conn)

    assert _states(session, campaign.id) == {DeliveryState.sent: 4, DeliveryState.pending: 8}


def test_cancel_skips_everyone_not_yet_sent(session, config, redis_conn, worker_env, smtp_handler):
    make_subscribers(session, 5)
    campaign = make_sending_campaign(session)
    start_sending(session, campaign.id, utcnow(), enqueue_jobs=jobs.enqueuer(config))
    cancel_campaign(session, campaign.id, utcnow())
    session.commit()

    run_campaign_jobs(redis_conn)
    assert smtp_handler.received == []
    assert _states(session, campaign.id) == {DeliveryState.skipped: 5}
    assert session.get(Campaign, campaign.id).status == CampaignStatus.cancelled


def test_resuming_a_campaign_that_is_not_paused_is_refused(session):
    make_subscribers(session, 1)
    campaign = make_sending_campaign(session)

    with pytest.raises(CampaignStateError):
        resume_campaign(session, campaign.id, utcnow())
    session.rollback()
    assert session.get(Campaign, campaign.id).status == CampaignStatus.draft
