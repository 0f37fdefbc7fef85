"""RQ jobs that deliver webhooks. A commit that carried events queues a dispatch at once
(`notify_on_commit`), and while deliveries wait idle workers queue one every
CAMPAIGN_CHECK_SECONDS, which picks up retries that came due and what a dead job left.
An endpoint that a dispatch finds paused for failing gets its admins mailed by
`send_pause_notices`, on the mail queue.

A dispatch fans new events out, then claims due deliveries batch by batch and posts each
batch concurrently, until nothing is due or its time slice is over; then it queues its
continuation. WEBHOOKS_CONCURRENCY dispatches run side by side; claims never overlap.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from redis.exceptions import RedisError
from rq import Queue

from helpdesk.config import Config
from helpdesk.db import session_scope
from helpdesk.events.service import on_events_committed
from helpdesk.mail import outbound
from helpdesk.queue import DEFAULT_QUEUE, MAIL_QUEUE, redis_connection, stop_requested
from helpdesk.webhooks import delivery, notices, sender

log = logging.getLogger(__name__)

DISPATCH_QUEUED_KEY = "helpdesk:webhooks:dispatch-queued"
# Set while deliveries wait (retries, paused endpoints, leases of dead jobs), so that idle
# workers queue dispatches only then; without it a burst worker would never run dry.
WAITING_KEY = "helpdesk:webhooks:waiting"
BATCH_SIZE = 200
POST_THREADS = 32
SLICE_SECONDS = 30


def queue_dispatch(config: Config, redis=None, *, only_if_waiting: bool = False) -> bool:
    """Queue WEBHOOKS_CONCURRENCY dispatch jobs unless some are waiting already (and,
    with `only_if_waiting`, only while deliveries wait); returns whether it did."""
    redis = redis or redis_connection(config)
    try:
        if only_if_waiting and not redis.exists(WAITING_KEY):
            return False
        if not redis.set(DISPATCH_QUEUED_KEY, "1", nx=True, ex=60):
            return False
        queue = Queue(DEFAULT_QUEUE, connection=redis)
        for _ in range(config.webhooks_concurrency):
            queue.enqueue(dispatch_webhooks, job_timeout=SLICE_SECONDS * 4)
        return True
    except RedisError:
        log.exception("could not queue a webhook dispatch")
        return False


def notify_on_commit(config: Config) -> None:
    """After every commit that recorded events, queue a dispatch (web app, worker, CLI)."""
    on_events_committed("webhooks", lambda: queue_dispatch(config))


def dispatch_webhooks() -> dict:
    config = Config.from_env()
    redis = redis_connection(config)
    redis.delete(DISPATCH_QUEUED_KEY)
    # Until this run ends and says otherwise: should it die mid-delivery, idle workers
    # keep queuing dispatches that retry its deliveries once their lease is over.
    redis.set(WAITING_KEY, "1")
    return run_dispatch(config, slice_seconds=SLICE_SECONDS, redis=redis)


def run_dispatch(config: Config, *, slice_seconds: float, redis=None) -> dict:
    """Fan out, then deliver due batches until none is left or the slice is over."""
    started = time.monotonic()
    fanned, seen = _fan_out_all(None)
    sent = failed = 0
    lease = timedelta(seconds=config.webhooks_lease_seconds)
    with (
        sender.make_client(config.webhooks_timeout_seconds, POST_THREADS) as client,
        ThreadPoolExecutor(POST_THREADS) as pool,
    ):
        while not stop_requested():
            with session_scope() as session:
                claimed = delivery.claim_due(session, BATCH_SIZE, lease)
            if not claimed:
                break
            results = list(pool.map(lambda c: (c, _post(client, config, c)), claimed))
            with session_scope() as session:
                delivery.record_results(session, results)
            sent += sum(1 for _, result in results if result.succeeded)
            failed += sum(1 for _, result in results if not result.succeeded)
            if time.monotonic() - started > slice_seconds:
                if redis is not None:
                    Queue(DEFAULT_QUEUE, connection=redis).enqueue(
                        dispatch_webhooks, job_timeout=SLICE_SECONDS * 4
                    )
                break
            more, seen = _fan_out_all(seen)
            fanned += more
    if redis is not None:
        _remember_waiting(redis)
        _queue_pause_notices(redis)
    return {"fanned_out": fanned, "succeeded": sent, "failed": failed}


def _queue_pause_notices(redis) -> None:
    """Looked for at the end of every dispatch rather than only when this one paused an
    endpoint, so a notice whose queuing failed is queued by the next dispatch."""
    with session_scope() as session:
        due = notices.unnotified_pauses(session)
    if due:
        try:
            Queue(MAIL_QUEUE, connection=redis).enqueue(send_pause_notices)
        except RedisError:
            log.exception("could not queue the webhook pause notices")


def send_pause_notices(smtp_url: str | None = None) -> int:
    """Mail every admin about each endpoint paused for failing that they have not been
    told of; returns how many mails were sent."""
    config = Config.from_env()
    with session_scope() as session:
        endpoint_ids = notices.unnotified_pauses(session)
    if not endpoint_ids:
        return 0
    sent = 0
    with outbound.SMTPSender(smtp_url or config.effective_smtp_url) as smtp:
        for endpoint_id in endpoint_ids:
            with session_scope() as session:
                messages = notices.claim_and_build(session, endpoint_id, config)
            for message in messages:
                try:
                    smtp.send(message)
                    sent += 1
                except Exception as exc:
                    log.warning("pause notice of endpoint %s not mailed: %s", endpoint_id, exc)
    return sent


def _remember_waiting(redis) -> None:
    with session_scope() as session:
        waiting = delivery.has_pending(session)
    if waiting:
        redis.set(WAITING_KEY, "1")
    else:
        redis.delete(WAITING_KEY)


def _fan_out_all(after: int | None) -> tuple[int, int | None]:
    """Fan out every event after `after`; returns the deliveries created and the last
    event seen, where the next call in this job goes on from."""
    created = 0
    while True:
        with session_scope() as session:
            step = delivery.fan_out(session, after)
        if step.last_event_id is None:
            return created, after
        created += step.created
        after = step.last_event_id


def _post(client, config: Config, claimed: delivery.Claimed) -> sender.PostResult:
    return sender.post(
        client,
        claimed.url,
        claimed.body.encode(),
        claimed.headers,
        allow_private=config.webhooks_allow_private,
        timeout_seconds=config.webhooks_timeout_seconds,
    )
