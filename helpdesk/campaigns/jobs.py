"""RQ jobs that send campaigns and count opens and clicks; any number run at once, on any
number of machines.

Each sending job claims a batch, sends it, and claims the next until the campaign has
nothing due, is paused or cancelled, or the job's time slice is over; then it queues its
own continuation, so a long campaign never hits RQ's job timeout and a waiting ticket
reply (on the mail queue, listened to first) gets a worker between slices.

The tracking views buffer opens and clicks in Redis and queue `flush_tracking_events`
(on the default queue) when none is pending; it applies them batch by batch.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from contextlib import closing
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from rq import Queue, get_current_job
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from helpdesk.campaigns import (
    deliveries,
    progress,
    rate_limit,
    recovery,
    send_loop,
    sending,
    submission,
    tracking_events,
)
from helpdesk.campaigns.models import Campaign, CampaignStatus
from helpdesk.config import Config
from helpdesk.db import session_scope, utcnow
from helpdesk.queue import CAMPAIGN_QUEUE, DEFAULT_QUEUE, redis_connection, stop_requested

log = logging.getLogger(__name__)

# A slice may end in the middle of a batch that is still allowed to finish.
JOB_TIMEOUT_SECONDS = 3600
# How long to doze when every waiting delivery is backing off after a transient failure.
MAX_NAP_SECONDS = 5.0
# How often a job with nothing to claim looks again while other jobs hold the last batches.
IN_FLIGHT_POLL_SECONDS = 0.5
# Tracking events applied per transaction, and how long a claimed batch may stay
# unacknowledged before another flusher takes it over (its flusher is presumed dead).
TRACKING_BATCH = 2000
TRACKING_LEASE_SECONDS = 60
# A flush job runs for at most this long before it queues its continuation.
TRACKING_SLICE_SECONDS = 60
# Applied batch ids are kept this long to recognise a batch handed out a second time.
TRACKING_BATCH_MEMORY = timedelta(days=1)
# Campaigns that are sending, so that idle workers know a campaign check is worth queuing.
ACTIVE_CAMPAIGNS_KEY = "helpdesk:campaigns:active"
CHECK_QUEUED_KEY = "helpdesk:campaigns:check-queued"


def enqueuer(config: Config):
    """`enqueue_jobs` for start_sending/resume_campaign: one job per unit of concurrency."""

    def enqueue_jobs(campaign_id: int) -> None:
        redis = redis_connection(config)
        redis.sadd(ACTIVE_CAMPAIGNS_KEY, campaign_id)
        _enqueue_senders(config, redis, campaign_id)

    return enqueue_jobs


def _enqueue_senders(config: Config, redis, campaign_id: int) -> None:
    queue = Queue(CAMPAIGN_QUEUE, connection=redis)
    for _ in range(max(1, config.campaign_concurrency)):
        queue.enqueue(send_campaign, campaign_id, job_timeout=JOB_TIMEOUT_SECONDS)


def on_worker_start(config: Config) -> None:
    """A worker that starts checks what dead workers left (their jobs are gone)."""
    queue_campaign_check(config, redis_connection(config), always=True)


def queue_campaign_check(config: Config, redis, *, always: bool = False) -> bool:
    """Queue `check_campaigns` unless one is waiting already; without `always`, only while
    some campaign is sending. Returns whether a check was queued."""
    try:
        if not always and not redis.scard(ACTIVE_CAMPAIGNS_KEY):
            return False
        if not redis.set(
            CHECK_QUEUED_KEY, "1", nx=True, ex=max(60, config.campaign_check_seconds * 2)
        ):
            return False
        Queue(DEFAULT_QUEUE, connection=redis).enqueue(check_campaigns)
        return True
    except RedisError:
        log.exception("could not queue a campaign check")
        return False


def check_campaigns() -> dict:
    """Recover what dead sending jobs left once their lease is over, finish campaigns with
    nothing left, and queue sending jobs for campaigns that have recipients waiting and
    nobody sending them. Also queues a flush for opens and clicks left uncounted."""
    config = Config.from_env()
    redis = _job_redis(config)
    redis.delete(CHECK_QUEUED_KEY)
    now = utcnow()
    with session_scope() as session:
        recovered = recovery.recover_stale_deliveries(
            session, redis, now, config.campaign_lease_seconds
        )
    with session_scope() as session:
        finished = recovery.finish_campaigns_without_work(session, now)
    with session_scope() as session:
        sending_ids = recovery.sending_campaign_ids(session)
        waiting_ids = recovery.campaigns_with_work(session, now)
    _track_active(redis, sending_ids)
    started = [
        campaign_id
        for campaign_id in waiting_ids
        if _start_senders_if_none(config, redis, campaign_id)
    ]
    if tracking_events.TrackingEventLog(redis).waiting():
        Queue(DEFAULT_QUEUE, connection=redis).enqueue(flush_tracking_events)
    return {
        "recovered_sent": recovered.sent,
        "recovered_pending": recovered.pending,
        "recovered_uncertain": recovered.uncertain,
        "finished": finished,
        "jobs_queued_for": started,
    }


def _track_active(redis, sending_ids: list[int]) -> None:
    pipe = redis.pipeline(transaction=True)
    pipe.delete(ACTIVE_CAMPAIGNS_KEY)
    if sending_ids:
        pipe.sadd(ACTIVE_CAMPAIGNS_KEY, *sending_ids)
    pipe.execute()


def _start_senders_if_none(config: Config, redis, campaign_id: int) -> bool:
    senders = progress.CampaignSenders(redis)
    if senders.count(campaign_id) or _has_queued_job(redis, campaign_id):
        return False
    if not senders.reserve_start(campaign_id):
        return False
    _enqueue_senders(config, redis, campaign_id)
    return True


def _has_queued_job(redis, campaign_id: int) -> bool:
    queue = Queue(CAMPAIGN_QUEUE, connection=redis)
    for job in queue.get_jobs():
        if job.func_name == f"{__name__}.send_campaign" and job.args[:1] == (campaign_id,):
            return True
    return False


def _job_redis(config: Config):
    job = get_current_job()
    return job.connection if job is not None else redis_connection(config)


def send_campaign(campaign_id: int) -> dict:
    """Send the campaign's due deliveries for one time slice; returns the counts."""
    config = Config.from_env()
    settings = sending.SendSettings.from_config(config)
    redis = _job_redis(config)
    claimer = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    with progress.CampaignSenders(redis).sending(campaign_id, claimer):
        with session_scope() as session:
            recovery.recover_stale_deliveries(session, redis, utcnow(), settings.lease_seconds)
        totals = _send_slice(config, settings, redis, campaign_id, claimer)
    return {
        "sent": totals.sent,
        "failed": totals.failed,
        "retried": totals.retried,
        "uncertain": totals.uncertain,
    }


def _send_slice(config, settings, redis, campaign_id, claimer) -> send_loop.BatchResult:
    limiter = rate_limit.RateLimiter(redis, settings.rate_per_second)
    totals = send_loop.BatchResult()
    deadline = time.monotonic() + config.campaign_slice_seconds
    with (
        closing(progress.SendProgress(redis, claimer)) as record,
        submission.CampaignSender(settings.smtp_url) as sender,
        session_scope() as session,
    ):
        while True:
            if stop_requested() or time.monotonic() > deadline:
                _continue_later(redis, campaign_id)
                return totals
            record.open_batch()
            ids = deliveries.claim_batch(
                session, campaign_id, claimer, settings.batch_size, utcnow()
            )
            session.commit()
            if not ids:
                record.close_batch()
                if not _wait_for_due(session, redis, campaign_id, deadline, settings):
                    return totals
                continue
            result = send_loop.send_batch(
                session,
                campaign_id,
                ids,
                claimer,
                sender,
                settings,
                progress=record,
                clock=utcnow,
                wait_for_slot=limiter.wait,
                should_stop=stop_requested,
            )
            totals.add(result)
            if result.lost:
                log.warning("campaign %s: this job's batch was taken over; it stops", campaign_id)
                return totals
            if result.paused:
                log.warning("campaign %s paused itself after repeated failures", campaign_id)
                return totals


def _continue_later(redis, campaign_id: int) -> None:
    """The slice is over or the worker is stopping: a fresh job carries on, so a waiting
    ticket reply gets a worker in between and a stopping worker leaves nothing undone."""
    job = get_current_job()
    Queue(job.origin if job else CAMPAIGN_QUEUE, connection=redis).enqueue(
        send_campaign, campaign_id, job_timeout=JOB_TIMEOUT_SECONDS
    )


def _wait_for_due(session, redis, campaign_id: int, deadline: float, settings) -> bool:
    """Nothing claimable now: finish the campaign, stop, or nap until something may be.
    Returns True to try claiming again."""
    status = session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
    if status != CampaignStatus.sending:
        return False
    left = deliveries.outlook(session, campaign_id)
    session.commit()
    if left.waiting:
        if left.next_due is not None and (
            _seconds_until(left.next_due) > deadline - time.monotonic()
        ):
            # Deferred beyond this slice (the frequency cap, quiet hours, advertising held
            # until the morning, a long retry):
            # the job ends rather than hold a worker, and the periodic campaign check
            # queues one once they are due (or recovers what a dead job left).
            return False
        # No due time: another job holds those rows right now; look again shortly.
        nap = 0.2 if left.next_due is None else _seconds_until(left.next_due)
    elif left.oldest_claim is None:
        sending.finish_if_done(session, campaign_id, utcnow())
        session.commit()
        return False
    else:
        # Other jobs hold the last recipients. Should one of them have died, its rows are
        # recovered when the lease ends: here when that is within this slice, otherwise
        # by the campaign check.
        lease_end = left.oldest_claim + timedelta(seconds=settings.lease_seconds)
        if _seconds_until(lease_end) > deadline - time.monotonic():
            return False
        if _seconds_until(lease_end) <= 0:
            recovery.recover_stale_deliveries(session, redis, utcnow(), settings.lease_seconds)
            return True
        nap = min(IN_FLIGHT_POLL_SECONDS, _seconds_until(lease_end))
    nap = min(max(nap, 0.05), MAX_NAP_SECONDS, max(0.0, deadline - time.monotonic()))
    if nap > 0:
        time.sleep(nap)
    return True


def _seconds_until(moment: datetime) -> float:
    return (moment - utcnow()).total_seconds()


# --- opens and clicks -------------------------------------------------------------------


def flush_tracking_events() -> dict:
    """Count the opens and clicks buffered in Redis; returns what was counted."""
    config = Config.from_env()
    job = get_current_job()
    redis = job.connection if job is not None else redis_connection(config)
    return drain_tracking_events(
        redis, config.machine_open_seconds, continue_on=job.origin if job else None
    )


def drain_tracking_events(
    redis,
    machine_window_s: int,
    *,
    batch_size: int = TRACKING_BATCH,
    lease_seconds: int = TRACKING_LEASE_SECONDS,
    time_limit: float = TRACKING_SLICE_SECONDS,
    continue_on: str | None = None,
) -> dict:
    """Claim, apply, commit, acknowledge, until no event is left or `time_limit` is up
    (then a continuation is queued on `continue_on`, as the sending jobs do)."""
    events = tracking_events.TrackingEventLog(redis)
    totals = tracking_events.AppliedEvents()
    batches = 0
    deadline = time.monotonic() + time_limit
    while True:
        if time.monotonic() > deadline:
            if continue_on is not None:
                Queue(continue_on, connection=redis).enqueue(flush_tracking_events)
            break
        batch = events.claim(batch_size, lease_seconds)
        if batch is None:
            if events.round_done():
                break
            continue
        try:
            with session_scope() as session:
                applied = tracking_events.apply_events(
                    session, batch.id, batch.events, machine_window_s=machine_window_s
                )
        except IntegrityError:
            # Another flusher took this batch over and committed it first; any other
            # conflict leaves the batch in flight, to be tried again after the lease.
            with session_scope() as session:
                if not tracking_events.batch_applied(session, batch.id):
                    raise
            applied = tracking_events.AppliedEvents(duplicate=True)
        events.ack(batch.id)
        batches += 1
        for name in ("opens", "machine_opens", "clicks", "dropped"):
            setattr(totals, name, getattr(totals, name) + getattr(applied, name))
    if batches:
        with session_scope() as session:
            tracking_events.forget_applied_batches(session, utcnow() - TRACKING_BATCH_MEMORY)
    if continue_on is not None and events.in_flight() and events.schedule_recheck(lease_seconds):
        # A batch another flusher holds: if that flusher died, its lease runs out and
        # this later job takes the batch over (RQ's scheduler runs in worker.py).
        Queue(continue_on, connection=redis).enqueue_in(
            timedelta(seconds=lease_seconds + 1), flush_tracking_events
        )
    return {
        "batches": batches,
        "opens": totals.opens,
        "machine_opens": totals.machine_opens,
        "clicks": totals.clicks,
        "dropped": totals.dropped,
    }
