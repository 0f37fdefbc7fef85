"""Recovery of what a dead sending job left: each claimed delivery gets the outcome its
progress record shows, and a job presumed dead cannot send once recovery took over."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.campaigns import progress
from helpdesk.campaigns.deliveries import claim_batch
from helpdesk.campaigns.mime import build_campaign_message, load_content
from helpdesk.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState
from helpdesk.campaigns.recovery import recover_stale_deliveries
from helpdesk.campaigns.sending import SendSettings, start_sending
from helpdesk.campaigns.submission import CampaignSender
from helpdesk.db import utcnow
from tests.factories import make_sending_campaign, make_subscribers

LEASE = 60
CLAIMER = "host:1:dead"


def _claimed_campaign(session, redis_conn, count=5):
    """A sending campaign whose deliveries a (now dead) job claimed two leases ago."""
    make_subscribers(session, count)
    campaign = make_sending_campaign(session)
    start_sending(session, campaign.id, utcnow())
    record = progress.SendProgress(redis_conn, CLAIMER)
    record.open_batch()
    ids = claim_batch(session, campaign.id, CLAIMER, count, utcnow() - timedelta(seconds=2 * LEASE))
    session.commit()
    return campaign, ids, record


def _states(session, campaign_id) -> dict[int, Delivery]:
    session.expire_all()
    query = select(Delivery).where(Delivery.campaign_id == campaign_id)
    return {d.id: d for d in session.scalars(query)}


def test_accepted_are_sent_the_one_in_flight_uncertain_and_the_rest_pending_again(
    session, redis_conn
):
    campaign, ids, record = _claimed_campaign(session, redis_conn)
    accepted_at = utcnow()
    record.announce(ids[0])
    record.confirm()
    record.accepted(ids[0], "<first@helpdesk.test>", accepted_at)
    record.announce(ids[1])
    record.confirm()
    record.accepted(ids[1], "<second@helpdesk.test>", accepted_at)
    record.announce(ids[2])
    record.confirm()

    recovered = recover_stale_deliveries(session, redis_conn, utcnow(), LEASE)

    deliveries = _states(session, campaign.id)
    assert [deliveries[id_].state for id_ in ids] == [
        DeliveryState.sent,
        DeliveryState.sent,
        DeliveryState.uncertain,
        DeliveryState.pending,
        DeliveryState.pending,
    ]
    assert deliveries[ids[0]].message_id == "<first@helpdesk.test>"
    assert deliveries[ids[1]].sent_at == accepted_at
    assert {deliveries[id_].attempts for id_ in ids[3:]} == {0}
    assert {deliveries[id_].claimed_by for id_ in ids[3:]} == {""}
    assert (recovered.sent, recovered.uncertain, recovered.pending) == (2, 1, 2)


def test_a_job_that_died_right_after_its_claim_sent_nothing_so_all_go_back_to_pending(
    session, redis_conn
):
    campaign, ids, _record = _claimed_campaign(session, redis_conn)

    recover_stale_deliveries(session, redis_conn, utcnow(), LEASE)

    assert {d.state for d in _states(session, campaign.id).values()} == {DeliveryState.pending}


def test_without_a_progress_record_every_claimed_delivery_is_uncertain(session, redis_conn):
    campaign, ids, _record = _claimed_campaign(session, redis_conn)
    redis_conn.delete(progress.record_key(CLAIMER))

    recover_stale_deliveries(session, redis_conn, utcnow(), LEASE)

    assert {d.state for d in _states(session, campaign.id).values()} == {DeliveryState.uncertain}
    assert session.get(Campaign, campaign.id).status == CampaignStatus.sent


def test_deliveries_within_their_lease_are_left_to_their_job(session, redis_conn):
    make_subscribers(session, 3)
    campaign = make_sending_campaign(session)
    start_sending(session, campaign.id, utcnow())
    progress.SendProgress(redis_conn, CLAIMER).open_batch()
    claim_batch(session, campaign.id, CLAIMER, 3, utcnow())
    session.commit()

    recovered = recover_stale_deliveries(session, redis_conn, utcnow(), LEASE)

    assert recovered == type(recovered)()
    assert {d.state for d in _states(session, campaign.id).values()} == {DeliveryState.sending}


def test_recovery_finishes_a_campaign_whose_last_recipients_it_settles(session, redis_conn):
    campaign, ids, record = _claimed_campaign(session, redis_conn, count=2)
    record.announce(ids[0])
    record.confirm()
    record.accepted(ids[0], "<a@helpdesk.test>", utcnow())
    record.announce(ids[1])
    record.confirm()

    recover_stale_deliveries(session, redis_conn, utcnow(), LEASE)

    session.expire_all()
    assert session.get(Campaign, campaign.id).status == CampaignStatus.sent


def test_a_job_taken_over_cannot_send_its_next_message(
    session, redis_conn, worker_env, smtp_sink, smtp_handler
):
    campaign, ids, record = _claimed_campaign(session, redis_conn, count=2)
    recover_stale_deliveries(session, redis_conn, utcnow(), LEASE)
    settings = SendSettings(
        smtp_url=smtp_sink.url, public_url="https://helpdesk.test", secret_key="s"
    )
    loaded, links = load_content(session, campaign.id)
    message = build_campaign_message(loaded, links, "0" * 32, "sub0@example.com", {}, settings)

    with CampaignSender(smtp_sink.url) as sender, pytest.raises(progress.ClaimLost):
        sender.submit(message, "sub0@example.com", record.guard(ids[0]))

    assert smtp_handler.received == []
