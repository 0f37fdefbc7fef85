"""Deferred deliveries with real jobs, Redis and an SMTP server: the sending job lets go
of the worker, and the periodic campaign check queues sending again once they are due,
each recipient still mailed once."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select, update

from helpdesk.campaigns import jobs
from helpdesk.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState
from helpdesk.campaigns.sending import start_sending
from helpdesk.db import utcnow
from tests.campaigns.sending_support import run_campaign_jobs
from tests.factories import make_marketing_rules, make_sending_campaign, make_subscribers


def _quiet_now(session):
    """Quiet hours (in UTC) from an hour ago to an hour from now."""
    now = utcnow()
    make_marketing_rules(
        session,
        quiet_enabled=True,
        quiet_start=f"{now - timedelta(hours=1):%H:%M}",
        quiet_end=f"{now + timedelta(hours=1):%H:%M}",
        timezone="UTC",
    )


def _states(session, campaign_id):
    session.expire_all()
    return sorted(
        session.execute(
            select(Delivery.state, Delivery.held_by_quiet_hours).where(
                Delivery.campaign_id == campaign_id
            )
        ).all()
    )


def test_deferred_campaign_is_sent_once_after_the_check_finds_it_due(
    session, config, redis_conn, worker_env, smtp_handler, monkeypatch
):
    monkeypatch.setenv("CAMPAIGN_SLICE_SECONDS", "600")
    _quiet_now(session)
    make_subscribers(session, 4)
    campaign = make_sending_campaign(session)
    start_sending(session, campaign.id, utcnow())
    session.commit()

    started = time.monotonic()
    assert jobs.send_campaign(campaign.id)["sent"] == 0
    # The job ended instead of napping through its slice until the quiet hours end.
    assert time.monotonic() - started < 30
    assert smtp_handler.received == []
    assert _states(session, campaign.id) == [(DeliveryState.pending, True)] * 4
    assert jobs.check_campaigns()["jobs_queued_for"] == []

    # An hour later the quiet hours are over.
    session.execute(
        update(Delivery)
        .where(Delivery.campaign_id == campaign.id)
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    session.commit()
    make_marketing_rules(session, quiet_enabled=False)
    assert jobs.check_campaigns()["jobs_queued_for"] == [campaign.id]
    run_campaign_jobs(redis_conn)

    assert sorted(smtp_handler.recipients()) == [f"sub{n}@example.com" for n in range(4)]
    assert _states(session, campaign.id) == [(DeliveryState.sent, True)] * 4
    assert session.get(Campaign, campaign.id).status == CampaignStatus.sent
    assert jobs.check_campaigns()["jobs_queued_for"] == []
    run_campaign_jobs(redis_conn)
    assert len(smtp_handler.received) == 4
