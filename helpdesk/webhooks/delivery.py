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

from sqlalchemy import String, and_, cast, exists, insert, literal, select, update
from sqlalchemy.orm import Session, aliased

from helpdesk.db import UTCDateTime, utcnow
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
    existing = aliased(WebhookDelivery)
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
            ~exists().where(
                existing.event_id == Event.id, existing.endpoint_id == WebhookEndpoint.id
            ),
        )
    )
    created = session.execute(
        insert(WebhookDelivery).from_select(
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


def claim_due(
    session: Session, limit: int, lease: timedelta, now: datetime | None = None
) -> list[Claimed]:
    """Lease up to `limit` due deliveries of running endpoints, none with an older
    pending delivery of the same subject to the same endpoint, and sign them."""
    now = now or utcnow()
    older = aliased(WebhookDelivery)
    statement = (
        select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.state == DeliveryState.pending,
            WebhookDelivery.next_attempt_at <= now,
            (WebhookDelivery.leased_until.is_(None)) | (WebhookDelivery.leased_until < now),
            WebhookEndpoint.paused_reason.is_(None),
            ~exists().where(
                older.endpoint_id == WebhookDelivery.endpoint_id,
                older.subject_key == WebhookDelivery.subject_key,
                older.event_id < WebhookDelivery.event_id,
                older.state == DeliveryState.pending,
            ),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(of=WebhookDelivery, skip_locked=True)
    ids = list(session.scalars(statement))
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
    clock: a day of failures with no success pauses the endpoint."""
    now = now or utcnow()
    session.add_all(
        WebhookAttempt(
            delivery_id=claimed.delivery_id,
            attempted_at=now,
            status_code=result.status_code,
            duration_ms=result.duration_ms,
            error=result.error,
            response_body=result.response_body,
        )
        for claimed, result in results
    )
    deliveries = {
        d.id: d
        for d in session.scalars(
            select(WebhookDelivery).where(
                WebhookDelivery.id.in_([claimed.delivery_id for claimed, _ in results])
            )
        )
    }
    succeeded_endpoints: set[int] = set()
    failed_endpoints: set[int] = set()
    for claimed, result in results:
        delivery = deliveries.get(claimed.delivery_id)
        if delivery is None:  # its endpoint was deleted meanwhile
            continue
        _record_attempt(delivery, result, now)
        (succeeded_endpoints if result.succeeded else failed_endpoints).add(claimed.endpoint_id)
    _update_endpoint_health(
        session, succeeded_endpoints, failed_endpoints - succeeded_endpoints, now
    )


def _record_attempt(delivery: WebhookDelivery, result: PostResult, now: datetime) -> None:
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error or ("" if result.succeeded else f"HTTP {result.status_code}")
    delivery.leased_until = None
    if result.succeeded:
        delivery.state = DeliveryState.succeeded
    elif delivery.attempts > len(RETRY_DELAYS):
        delivery.state = DeliveryState.abandoned
    else:
        delivery.next_attempt_at = now + RETRY_DELAYS[delivery.attempts - 1]


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


def has_due_work(session: Session, now: datetime | None = None) -> bool:
    """Whether any delivery is due now (or its lease ended) at a running endpoint."""
    now = now or utcnow()
    return bool(
        session.scalar(
            select(WebhookDelivery.id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(
                WebhookDelivery.state == DeliveryState.pending,
                WebhookDelivery.next_attempt_at <= now,
                (WebhookDelivery.leased_until.is_(None)) | (WebhookDelivery.leased_until < now),
                WebhookEndpoint.paused_reason.is_(None),
            )
            .limit(1)
        )
    )
