"""An SMTP server that refuses, defers or drops: retries, failures and self-pausing."""

from __future__ import annotations

import time
from collections import Counter

from sqlalchemy import select

from helpdesk.campaigns import jobs
from helpdesk.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState
from helpdesk.campaigns.rate_limit import RateLimiter
from helpdesk.campaigns.sending import start_sending
from helpdesk.db import utcnow
from tests.campaigns.sending_support import run_campaign_jobs
from tests.factories import make_sending_campaign, make_subscribers


def _deliveries(session, campaign_id) -> dict[str, Delivery]:
    session.expire_all()
    return {
        d.email: d
        for d in session.scalars(select(Delivery).where(Delivery.campaign_id == campaign_id))
    }


def _send(session, config, redis_conn, count=10):
    make_subscribers(session, count)
    campaign = make_sending_campaign(session)
    start_sending(session, campaign.id, utcnow(), enqueue_jobs=jobs.enqueuer(config))
    run_campaign_jobs(redis_conn)
    return campaign


def test_deferrals_with_421_and_451_are_retried_until_the_server_recovers(
    session, config, redis_conn, worker_env, smtp_handler
):
    answers = Counter()

    def defer_twice(address):
        answers[address] += 1
        if answers[address] == 1:
            return "451 4.3.0 Try again later"
        if answers[address] == 2:
            return "421 4.3.2 Service not available, closing"
        return None

    smtp_handler.on_rcpt = defer_twice
    campaign = _send(session, config, redis_conn)

    assert set(smtp_handler.recipients().values()) == {1}
    assert len(smtp_handler.recipients()) == 10
    deliveries = _deliveries(session, campaign.id)
    assert {d.state for d in deliveries.values()} == {DeliveryState.sent}
    assert {d.attempts for d in deliveries.values()} == {3}
    assert session.get(Campaign, campaign.id).status == CampaignStatus.sent


def test_550_fails_that_recipient_with_the_servers_reply_and_the_rest_are_sent(
    session, config, redis_conn, worker_env, smtp_handler
):
    smtp_handler.on_rcpt = lambda a: "550 5.1.1 No such user" if a.startswith("sub3@") else None
    campaign = _send(session, config, redis_conn)

    deliveries = _deliveries(session, campaign.id)
    assert deliveries["sub3@example.com"].state == DeliveryState.failed
    assert deliveries["sub3@example.com"].last_error == "550 5.1.1 No such user"
    assert deliveries["sub3@example.com"].attempts == 1
    others = [d for email, d in deliveries.items() if email != "sub3@example.com"]
    assert {d.state for d in others} == {DeliveryState.sent}
    assert "sub3@example.com" not in smtp_handler.recipients()
    assert session.get(Campaign, campaign.id).status == CampaignStatus.sent


def test_a_connection_dropped_before_the_message_is_retried_and_delivered_once(
    session, config, redis_conn, worker_env, smtp_handler
):
    dropped = Counter()

    def drop_first(address):
        dropped[address] += 1
        return "DROP" if dropped[address] == 1 else None

    smtp_handler.on_rcpt = drop_first
    campaign = _send(session, config, redis_conn)

    assert smtp_handler.recipients() == Counter({f"sub{n}@example.com": 1 for n in range(10)})
    assert {d.state for d in _deliveries(session, campaign.id).values()} == {DeliveryState.sent}


def test_a_connection_dropped_after_the_message_body_is_uncertain_and_never_resent(
    session, config, redis_conn, worker_env, smtp_handler
):
    smtp_handler.on_data = lambda a: "DROP" if a.startswith("sub4@") else None
    campaign = _send(session, config, redis_conn)

    delivery = _deliveries(session, campaign.id)["sub4@example.com"]
    assert delivery.state == DeliveryState.uncertain
    assert delivery.attempts == 1
    assert "no answer after the message was sent" in delivery.last_error
    assert session.get(Campaign, campaign.id).status == CampaignStatus.sent


def test_campaign_pauses_itself_after_the_configured_failures_in_a_row(
    session, config, redis_conn, worker_env, smtp_handler, monkeypatch
):
    monkeypatch.setenv("CAMPAIGN_MAX_CONSECUTIVE_FAILURES", "3")
    smtp_handler.on_rcpt = lambda a: "554 5.7.1 Relay access denied"
    campaign = _send(session, config, redis_conn)

    session.expire_all()
    paused = session.get(Campaign, campaign.id)
    assert paused.status == CampaignStatus.paused
    assert paused.consecutive_failures == 3 and paused.paused_by == ""
    assert "554 5.7.1 Relay access denied" in paused.pause_reason
    states = Counter(d.state for d in _deliveries(session, campaign.id).values())
    assert states == {DeliveryState.failed: 3, DeliveryState.pending: 7}


def test_rate_limit_is_shared_through_redis(redis_conn):
    first, second = RateLimiter(redis_conn, 20), RateLimiter(redis_conn, 20)
    started = time.monotonic()
    for _ in range(20):
        first.wait()
        second.wait()
    elapsed = time.monotonic() - started
    # 40 messages at 20/s with a one-second burst: at least a second of waiting.
    assert elapsed >= 0.9
