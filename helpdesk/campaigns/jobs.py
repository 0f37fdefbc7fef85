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
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from rq import Queue, get_current_job
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from helpdesk.campaigns import sending, tracking
from helpdesk.campaigns.models import Campaign, CampaignStatus
from helpdesk.config import Config
from helpdesk.db import session_scope, utcnow
from helpdesk.queue import CAMPAIGN_QUEUE, DEFAULT_QUEUE, get_queue, redis_connection

log = logging.getLogger(__name__)

SLICE_SECONDS = 60
# A slice may end in the middle of a batch that is still allowed to finish.
JOB_TIMEOUT_SECONDS = 3600
# How long to doze when every waiting delivery is backing off after a transient failure.
MAX_NAP_SECONDS = 5.0
# Tracking events applied per transaction, and how long a claimed batch may stay
# unacknowledged before another flusher takes it over (its flusher is presumed dead).
TRACKING_BATCH = 2000
TRACKING_LEASE_SECONDS = 60
# Applied batch ids are kept this long to recognise a batch handed out a second time.
TRACKING_BATCH_MEMORY = timedelta(days=1)


def enqueuer(config: Config):
    """`enqueue_jobs` for start_sending/resume_campaign: one job per unit of concurrency."""

    def enqueue_jobs(campaign_id: int) -> None:
        queue = get_queue(config, CAMPAIGN_QUEUE)
        for _ in range(max(1, config.campaign_concurrency)):
            queue.enqueue(send_campaign, campaign_id, job_timeout=JOB_TIMEOUT_SECONDS)

    return enqueue_jobs


def on_worker_start(config: Config) -> int:
    """Resolve what dead workers left in `sending` and queue jobs for campaigns that still
    have recipients waiting (the jobs of a killed worker are gone). Returns jobs queued."""
    try:
        with session_scope() as session:
            sending.recover_stale_deliveries(session, utcnow(), config.campaign_lease_seconds)
        with session_scope() as session:
            campaign_ids = sending.campaigns_with_work(session)
    except SQLAlchemyError:
        # A worker still serves ticket mail when the campaign tables cannot be read
        # (a database not migrated yet); the next start tries again.
        log.exception("could not check campaigns left unfinished")
        return 0
    try:
        if tracking.TrackingEventLog(redis_connection(config)).waiting():
            get_queue(config, DEFAULT_QUEUE).enqueue(flush_tracking_events)
    except RedisError:
        log.exception("could not check for opens and clicks waiting to be counted")
    enqueue_jobs = enqueuer(config)
    queued = 0
    for campaign_id in campaign_ids:
        if not _has_queued_job(config, campaign_id):
            enqueue_jobs(campaign_id)
            queued += 1
    return queued


def _has_queued_job(config: Config, campaign_id: int) -> bool:
    queue = get_queue(config, CAMPAIGN_QUEUE)
    for job in queue.get_jobs():
        if job.func_name == f"{__name__}.send_campaign" and job.args[:1] == (campaign_id,):
            return True
    return False


def send_campaign(campaign_id: int) -> dict:
    """Send the campaign's due deliveries for one time slice; returns the counts."""
    config = Config.from_env()
    settings = sending.SendSettings.from_config(config)
    job = get_current_job()
    redis = job.connection if job is not None else redis_connection(config)
    worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    limiter = sending.RateLimiter(redis, settings.rate_per_second)
    totals = sending.BatchResult()
    deadline = time.monotonic() + SLICE_SECONDS
    with session_scope() as session:
        sending.recover_stale_deliveries(session, utcnow(), settings.lease_seconds)
    with sending.CampaignSender(settings.smtp_url) as sender, session_scope() as session:
        while True:
            if time.monotonic() > deadline:
                if job is not None:
                    Queue(job.origin, connection=redis).enqueue(
                        send_campaign, campaign_id, job_timeout=JOB_TIMEOUT_SECONDS
                    )
                break
            ids = sending.claim_batch(session, campaign_id, worker, settings.batch_size, utcnow())
            session.commit()
            if not ids:
                if not _wait_for_due(session, campaign_id, deadline):
                    break
                continue
            result = sending.send_batch(
                session,
                campaign_id,
                ids,
                worker,
                sender,
                settings,
                wait_for_slot=limiter.wait,
                clock=utcnow,
            )
            for name in ("sent", "failed", "retried", "uncertain"):
                setattr(totals, name, getattr(totals, name) + getattr(result, name))
            if result.paused:
                log.warning("campaign %s paused itself after repeated failures", campaign_id)
                break
    return {
        "sent": totals.sent,
        "failed": totals.failed,
        "retried": totals.retried,
        "uncertain": totals.uncertain,
    }


def _wait_for_due(session, campaign_id: int, deadline: float) -> bool:
    """Nothing claimable now: finish the campaign, stop, or nap until a retry is due.
    Returns True to try claiming again."""
    status = session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
    if status != CampaignStatus.sending:
        return False
    due = sending.next_due(session, campaign_id)
    if due is False:
        sending.finish_if_done(session, campaign_id, utcnow())
        session.commit()
        return False
    session.commit()
    # No due time: another worker holds those rows right now; look again shortly.
    nap = 0.2 if due is None else _seconds_until(due)
    nap = min(max(nap, 0.05), MAX_NAP_SECONDS, max(0.0, deadline - time.monotonic()))
    if nap <= 0:
        return True
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
    time_limit: float = SLICE_SECONDS,
    continue_on: str | None = None,
) -> dict:
    """Claim, apply, commit, acknowledge, until no event is left or `time_limit` is up
    (then a continuation is queued on `continue_on`, as the sending jobs do)."""
    events = tracking.TrackingEventLog(redis)
    totals = tracking.AppliedEvents()
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
                applied = tracking.apply_events(
                    session, batch.id, batch.events, machine_window_s=machine_window_s
                )
        except IntegrityError:
            # Another flusher took this batch over and committed it first; any other
            # conflict leaves the batch in flight, to be tried again after the lease.
            with session_scope() as session:
                if not tracking.batch_applied(session, batch.id):
                    raise
            applied = tracking.AppliedEvents(duplicate=True)
        events.ack(batch.id)
        batches += 1
        for name in ("opens", "machine_opens", "clicks", "dropped"):
            setattr(totals, name, getattr(totals, name) + getattr(applied, name))
    if batches:
        with session_scope() as session:
            tracking.forget_applied_batches(session, utcnow() - TRACKING_BATCH_MEMORY)
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
