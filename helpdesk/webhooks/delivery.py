"""From the event stream to signed POSTs: fan new events out into one delivery per
matching endpoint, claim due deliveries, and record each attempt with its back-off.

Deliveries are at least once: a claim is a lease, and a job that dies mid-POST leaves its
deliveries to be claimed again when the lease ends, with the same webhook-id. Events of
one subject (a ticket, a customer) reach an endpoint in order: a delivery waits while an
older one of the same subject to the same endpoint is still pending.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, and_, bindparam, cast, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from helpdesk.db import UTCDateTime, chunks, utcnow
from helpdesk.events.models import Event
from helpdesk.webhooks.models import (
    DeliveryState,
    PauseReason,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookFanout,
    WebhookSubscription,
)
from helpdesk.webhooks.sender import PostResult
from helpdesk.webhooks.service import secrets_in_use
from helpdesk.webhooks.signing import signed_headers

# Wait after each failed attempt (the Standard Webhooks / Svix schedule): the last of
# eight attempts comes about 27 hours after the first; then the delivery is abandoned.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
# An endpoint that has failed for this long with no success in between is paused.
AUTO_PAUSE_AFTER = timedelta(days=1)
# A transaction that records an event commits within this long (longer ones are not
# written anywhere in the code); the fan-out looks back this far for late commits.
COMMIT_LAG = timedelta(seconds=60)
FANOUT_BATCH = 5000


def message_body(event: Event) -> str:
    """The JSON body of an event's message, the same at every attempt."""
    return json.dumps(
        {
            "type": event.type,
            "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
            "data": event.payload,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _fanout_state(session: Session) -> WebhookFanout:
    statement = select(WebhookFanout).where(WebhookFanout.id == 1)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    state = session.scalar(statement)
    if state is None:
        state = WebhookFanout(id=1, position=0)
        session.add(state)
        session.flush()
    return state


@dataclass(frozen=True)
class FanoutStep:
    created: int  # deliveries created
    last_event_id: int | None  # the last event looked at; None: no event after `after`


def fan_out(session: Session, after: int | None = None, now: datetime | None = None) -> FanoutStep:
    """Create the deliveries of up to FANOUT_BATCH events after `after` (default: the
    stored position), set-based and idempotent: an event that already has its delivery
    to an endpoint is skipped. One fan-out at a time: the state row is locked.

    The stored position only moves past events older than COMMIT_LAG, so an event whose
    transaction commits after a later one's is still seen by the next fan-out."""
    now = now or utcnow()
    state = _fanout_state(session)
    start = state.position if after is None else max(after, state.position)
    window = (
        select(Event.id).where(Event.id > start).order_by(Event.id).limit(FANOUT_BATCH).subquery()
    )
    last_id = session.scalar(select(window.c.id).order_by(window.c.id.desc()).limit(1))
    if last_id is None:
        return FanoutStep(0, None)
    subject_key = Event.subject_kind + literal(":") + cast(Event.subject_id, String)
    matches = (
        select(
            Event.id,
            WebhookEndpoint.id,
            subject_key,
            literal(DeliveryState.pending.value),
            literal(0),
            Event.created_at,
            literal(now, UTCDateTime()),
            literal(""),
        )
        .join(WebhookSubscription, WebhookSubscription.event_type == Event.type)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookSubscription.endpoint_id)
        .where(
            Event.id > start,
            Event.id <= last_id,
            Event.created_at >= WebhookEndpoint.created_at,
        )
    )
    insert_ = (
        postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    # Skipping deliveries made before by ON CONFLICT, a probe of the unique index per
    # row, not by NOT EXISTS: on a fresh burst of events PostgreSQL planned that as a scan
    # of the endpoint's deliveries per event, this statement's own new rows included
    # (quadratic: 1.3 s for 3,000 events).
    created = session.execute(
        insert_(WebhookDelivery)
        .from_select(
            [
                "event_id",
                "endpoint_id",
                "subject_key",
                "state",
                "attempts",
                "next_attempt_at",
                "created_at",
                "last_error",
            ],
            matches,
        )
        .on_conflict_do_nothing(index_elements=["event_id", "endpoint_id"])
    ).rowcount
    settled = session.scalar(
        select(Event.id)
        .where(Event.id > state.position, Event.id <= last_id, Event.created_at < now - COMMIT_LAG)
        .order_by(Event.id.desc())
        .limit(1)
    )
    if settled is not None:
        state.position = settled
    return FanoutStep(max(created, 0), last_id)


@dataclass(frozen=True)
class Claimed:
    """What a job needs to post one delivery, read while it held the claim."""

    delivery_id: int
    endpoint_id: int
    url: str
    body: str
    headers: dict[str, str]


def _due(now: datetime):
    return (
        WebhookDelivery.state == DeliveryState.pending,
        WebhookDelivery.next_attempt_at <= now,
        (WebhookDelivery.leased_until.is_(None)) | (WebhookDelivery.leased_until < now),
        WebhookEndpoint.paused_reason.is_(None),
    )


def _first_of_their_subjects(session: Session, candidates: list) -> list[int]:
    """The candidates that are the oldest pending delivery of their subject to their
    endpoint. Looked up per group rather than as a correlated NOT EXISTS, whose plan
    PostgreSQL gets quadratically wrong while a burst of rows has no statistics yet."""
    endpoint_ids = sorted({c.endpoint_id for c in candidates})
    first: dict[tuple[int, str], int] = {}
    for keys in chunks(sorted({c.subject_key for c in candidates})):
        rows = session.execute(
            select(
                WebhookDelivery.endpoint_id,
                WebhookDelivery.subject_key,
                func.min(WebhookDelivery.event_id),
            )
            .where(
                WebhookDelivery.endpoint_id.in_(endpoint_ids),
                WebhookDelivery.subject_key.in_(keys),
                WebhookDelivery.state == DeliveryState.pending,
            )
            .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.subject_key)
        )
        first.update(((endpoint_id, key), event_id) for endpoint_id, key, event_id in rows)
    return [c.id for c in candidates if first.get((c.endpoint_id, c.subject_key)) == c.event_id]


def claim_due(
    session: Session, limit: int, lease: timedelta, now: datetime | None = None
) -> list[Claimed]:
    """Lease up to `limit` due deliveries of running endpoints, none with an older
    pending delivery of the same subject to the same endpoint, and sign them."""
    now = now or utcnow()
    statement = (
        select(
            WebhookDelivery.id,
            WebhookDelivery.endpoint_id,
            WebhookDelivery.subject_key,
            WebhookDelivery.event_id,
        )
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(*_due(now))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Jobs running side by side each lock a batch of their own (SQLite writers take
        # turns); the ones not leased below are free again at commit.
        statement = statement.with_for_update(of=WebhookDelivery, skip_locked=True)
    candidates = session.execute(statement).all()
    ids = _first_of_their_subjects(session, candidates) if candidates else []
    if not ids:
        return []
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids))
        .values(leased_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(
        select(WebhookDelivery.id, Event, WebhookEndpoint)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id.in_(ids))
        .order_by(WebhookDelivery.id)
    ).all()
    claimed = []
    for delivery_id, event, endpoint in rows:
        body = message_body(event)
        headers = signed_headers(event.uid, now, body, secrets_in_use(endpoint, now))
        claimed.append(Claimed(delivery_id, endpoint.id, endpoint.url, body, headers))
    return claimed


def record_results(
    session: Session,
    results: Sequence[tuple[Claimed, PostResult]],
    now: datetime | None = None,
) -> None:
    """Store each attempt, schedule retries or give up, and keep each endpoint's failure
    clock: a day of failures with no success pauses the endpoint. Set-based: one INSERT
    and one UPDATE (executemany) for the whole batch."""
    now = now or utcnow()
    if not results:
        return
    session.execute(
        insert(WebhookAttempt),
        [
            {
                "delivery_id": claimed.delivery_id,
                "attempted_at": now,
                "status_code": result.status_code,
                "duration_ms": result.duration_ms,
                "error": result.error,
                "response_body": result.response_body,
            }
            for claimed, result in results
        ],
    )
    attempts_before = dict(
        session.execute(
            select(WebhookDelivery.id, WebhookDelivery.attempts).where(
                WebhookDelivery.id.in_([claimed.delivery_id for claimed, _ in results])
            )
        ).all()
    )
    outcomes = [
        _outcome(claimed.delivery_id, attempts_before[claimed.delivery_id] + 1, result, now)
        for claimed, result in results
        if claimed.delivery_id in attempts_before  # else its endpoint was deleted meanwhile
    ]
    if outcomes:
        session.execute(_RECORD_ATTEMPT, outcomes)
    succeeded = {claimed.endpoint_id for claimed, result in results if result.succeeded}
    failed = {claimed.endpoint_id for claimed, result in results if not result.succeeded}
    _update_endpoint_health(session, succeeded, failed - succeeded, now)


_deliveries = WebhookDelivery.__table__
_RECORD_ATTEMPT = (
    update(_deliveries)
    .where(_deliveries.c.id == bindparam("b_id"))
    .values(
        attempts=bindparam("b_attempts"),
        state=bindparam("b_state"),
        next_attempt_at=bindparam("b_next"),
        leased_until=None,
        last_attempt_at=bindparam("b_at"),
        last_status_code=bindparam("b_status"),
        last_error=bindparam("b_error"),
    )
)


def _outcome(delivery_id: int, attempts: int, result: PostResult, now: datetime) -> dict:
    """The delivery's row after this attempt: done, abandoned, or due again later."""
    next_attempt = now
    if result.succeeded:
        state = DeliveryState.succeeded
    elif attempts > len(RETRY_DELAYS):
        state = DeliveryState.abandoned
    else:
        state = DeliveryState.pending
        next_attempt = now + RETRY_DELAYS[attempts - 1]
    return {
        "b_id": delivery_id,
        "b_attempts": attempts,
        "b_state": state,
        "b_next": next_attempt,
        "b_at": now,
        "b_status": result.status_code,
        "b_error": result.error or ("" if result.succeeded else f"HTTP {result.status_code}"),
    }


def _update_endpoint_health(
    session: Session, succeeded: set[int], failed: set[int], now: datetime
) -> None:
    if succeeded:
        session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(succeeded), WebhookEndpoint.failing_since.is_not(None))
            .values(failing_since=None)
            .execution_options(synchronize_session=False)
        )
    if not failed:
        return
    session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id.in_(failed), WebhookEndpoint.failing_since.is_(None))
        .values(failing_since=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(WebhookEndpoint)
        .where(
            and_(
                WebhookEndpoint.id.in_(failed),
                WebhookEndpoint.failing_since <= now - AUTO_PAUSE_AFTER,
                WebhookEndpoint.paused_reason.is_(None),
            )
        )
        .values(paused_reason=PauseReason.failing, paused_at=now)
        .execution_options(synchronize_session=False)
    )


def has_pending(session: Session) -> bool:
    """Whether any delivery still waits for an attempt (due or not, at any endpoint)."""
    return (
        session.scalar(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.state == DeliveryState.pending)
            .limit(1)
        )
        is not None
    )
