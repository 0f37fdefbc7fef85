"""The sending loop of one job: its claimed batch, message by message, each outcome
recorded; accepted messages reach the database in groups while the progress record in
Redis keeps the per-message truth.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.campaigns import rendering
from helpdesk.campaigns.advertising import AdNotice
from helpdesk.campaigns.deliveries import (
    mark_failed,
    mark_retry,
    mark_sent,
    mark_uncertain,
    record_failure,
    release,
    reset_failures,
)
from helpdesk.campaigns.mime import build_campaign_message, load_content
from helpdesk.campaigns.models import Delivery
from helpdesk.campaigns.progress import ClaimLost, SendProgress
from helpdesk.campaigns.sending import SendSettings
from helpdesk.campaigns.submission import (
    CampaignSender,
    PermanentFailure,
    TransientFailure,
    UncertainFailure,
)

# Accepted messages are recorded every SENT_FLUSH_SECONDS, or sooner once SENT_FLUSH wait.
SENT_FLUSH_SECONDS = 0.25
SENT_FLUSH = 500


@dataclass
class BatchResult:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    uncertain: int = 0
    paused: bool = False
    # The worker is stopping: the deliveries not yet handed over went back to pending.
    stopped: bool = False
    # Recovery took the batch over (this job was presumed dead): nothing more may be sent.
    lost: bool = False

    def add(self, other: BatchResult) -> None:
        for name in ("sent", "failed", "retried", "uncertain"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def send_batch(
    session: Session,
    campaign_id: int,
    delivery_ids: list[int],
    worker: str,
    sender: CampaignSender,
    settings: SendSettings,
    *,
    progress: SendProgress,
    clock: Callable[[], datetime],
    wait_for_slot: Callable[[], None] = lambda: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> BatchResult:
    """Send the claimed deliveries one by one and record each outcome.

    Accepted messages are recorded in the database in groups, every SENT_FLUSH_SECONDS
    (or SENT_FLUSH messages), which saves a commit per message; `progress` keeps the
    per-message truth in Redis meanwhile, so a kill at any moment leaves at most the one
    message in flight uncertain. Refusals and uncertain outcomes are committed at once.
    """
    result = BatchResult()
    campaign, links = load_content(session, campaign_id)
    ad = AdNotice.for_campaign(session, campaign)
    rows = session.execute(
        select(Delivery.id, Delivery.token, Delivery.email, Delivery.customer_id, Delivery.attempts)
        .where(Delivery.id.in_(delivery_ids))
        .order_by(Delivery.id)
    ).all()
    contexts = rendering.customer_contexts(session, [row.customer_id for row in rows])
    session.commit()
    failures_pending_reset = campaign.consecutive_failures > 0
    accepted: list[tuple[int, str, datetime]] = []
    flush_due = time.monotonic() + SENT_FLUSH_SECONDS

    def flush_accepted() -> None:
        nonlocal flush_due
        mark_sent(session, worker, accepted)
        accepted.clear()
        session.commit()
        flush_due = time.monotonic() + SENT_FLUSH_SECONDS

    for index, row in enumerate(rows):
        if should_stop():
            release(session, [r.id for r in rows[index:]], worker)
            result.stopped = True
            break
        try:
            message = build_campaign_message(
                campaign,
                links,
                row.token,
                row.email,
                contexts.get(row.customer_id, {}),
                settings,
                ad,
            )
        except Exception as exc:
            # A template that cannot render for this customer is that delivery's problem.
            outcome_error = f"could not build the message: {exc}"
            mark_failed(session, row.id, worker, outcome_error)
            result.failed += 1
        else:
            wait_for_slot()
            try:
                outcome_error = _submit(
                    session, row, message, worker, sender, settings, result, progress, clock
                )
            except ClaimLost:
                session.rollback()
                result.lost = True
                return result
        if outcome_error is None:
            accepted_at = clock()
            accepted.append((row.id, message.message_id, accepted_at))
            progress.accepted(row.id, message.message_id, accepted_at)
            result.sent += 1
            if failures_pending_reset:
                reset_failures(session, campaign_id)
                failures_pending_reset = False
            if len(accepted) >= SENT_FLUSH or time.monotonic() >= flush_due:
                flush_accepted()
            continue
        failures_pending_reset = True
        paused = record_failure(
            session, campaign_id, settings.max_consecutive_failures, outcome_error, clock()
        )
        if paused:
            release(session, [r.id for r in rows[index + 1 :]], worker)
            result.paused = True
        flush_accepted()
        if paused:
            break
    flush_accepted()
    progress.close_batch()
    return result


def _submit(session, row, message, worker, sender, settings, result, progress, clock) -> str | None:
    """Hand one delivery's message to the relay and record a refusal; returns the error
    text, or None when the relay accepted it."""
    try:
        sender.submit(message, row.email, progress.guard(row.id))
    except PermanentFailure as exc:
        mark_failed(session, row.id, worker, str(exc))
        result.failed += 1
        return str(exc)
    except TransientFailure as exc:
        if row.attempts >= settings.max_attempts:
            mark_failed(session, row.id, worker, f"gave up after {row.attempts} attempts: {exc}")
            result.failed += 1
        else:
            delay = settings.retry_base_seconds * 2 ** (row.attempts - 1)
            mark_retry(session, row.id, worker, str(exc), clock() + timedelta(seconds=delay))
            result.retried += 1
        return str(exc)
    except UncertainFailure as exc:
        mark_uncertain(session, row.id, worker, str(exc))
        result.uncertain += 1
        return str(exc)
    return None
