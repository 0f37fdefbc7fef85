"""Webhook endpoints: adding, editing, rotating the secret, pausing and deleting them, and
what the admin pages show of their deliveries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from helpdesk.db import utcnow
from helpdesk.events.models import Event
from helpdesk.events.service import EVENT_TYPES, new_event_uid
from helpdesk.text import LazyText
from helpdesk.text import lazy_text as _l
from helpdesk.webhooks import signing
from helpdesk.webhooks.addresses import UnsafeURL, check_url_shape, resolve
from helpdesk.webhooks.models import (
    DeliveryState,
    PauseReason,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSubscription,
)

# How long the secret before a rotation keeps signing, so receivers can switch over.
ROTATION_GRACE = timedelta(hours=24)
TEST_EVENT_TYPE = "webhook.test"


class EndpointInvalid(ValueError):
    """Refused input; ``errors`` maps each offending form field name to its message."""

    def __init__(self, errors: Mapping[str, LazyText]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{key}: {message}" for key, message in self.errors.items()))


class EndpointNotFound(LookupError):
    pass


@dataclass(frozen=True)
class EndpointData:
    url: str
    description: str
    event_types: Sequence[str]


def _clean(data: EndpointData, *, allow_private: bool) -> tuple[str, str, list[str]]:
    errors: dict[str, LazyText] = {}
    url = data.url.strip()
    if not url:
        errors["url"] = _l("Enter the URL to post events to.")
    elif len(url) > 2000:
        errors["url"] = _l("The URL is too long (2,000 characters at most).")
    else:
        try:
            check_url_shape(url)
            resolve(url, allow_private=allow_private)
        except UnsafeURL:
            errors["url"] = _l(
                "Use an http:// or https:// URL whose host resolves to a public address."
            )
    description = data.description.strip()
    if len(description) > 500:
        errors["description"] = _l("The description is too long (500 characters at most).")
    types = sorted(set(data.event_types))
    if not types:
        errors["event_types"] = _l("Choose at least one event.")
    elif any(t not in EVENT_TYPES for t in types):
        errors["event_types"] = _l("Choose events from the list.")
    if errors:
        raise EndpointInvalid(errors)
    return url, description, types


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get_endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise EndpointNotFound(endpoint_id)
    return endpoint


def event_types_of(session: Session, endpoint_id: int) -> list[str]:
    return list(
        session.scalars(
            select(WebhookSubscription.event_type)
            .where(WebhookSubscription.endpoint_id == endpoint_id)
            .order_by(WebhookSubscription.event_type)
        )
    )


def _subscribe(session: Session, endpoint_id: int, types: list[str]) -> None:
    session.execute(
        delete(WebhookSubscription).where(WebhookSubscription.endpoint_id == endpoint_id)
    )
    session.add_all(WebhookSubscription(endpoint_id=endpoint_id, event_type=t) for t in types)


def create_endpoint(
    session: Session, data: EndpointData, *, allow_private: bool, now: datetime | None = None
) -> WebhookEndpoint:
    """A new endpoint with a new secret (the caller shows it once)."""
    url, description, types = _clean(data, allow_private=allow_private)
    endpoint = WebhookEndpoint(
        url=url, description=description, secret=signing.new_secret(), created_at=now or utcnow()
    )
    session.add(endpoint)
    session.flush()
    _subscribe(session, endpoint.id, types)
    return endpoint


def update_endpoint(
    session: Session, endpoint_id: int, data: EndpointData, *, allow_private: bool
) -> WebhookEndpoint:
    endpoint = get_endpoint(session, endpoint_id)
    url, description, types = _clean(data, allow_private=allow_private)
    endpoint.url, endpoint.description = url, description
    _subscribe(session, endpoint.id, types)
    return endpoint


def rotate_secret(
    session: Session, endpoint_id: int, *, now: datetime | None = None
) -> WebhookEndpoint:
    """A new secret; the current one keeps signing alongside it for ROTATION_GRACE."""
    endpoint = get_endpoint(session, endpoint_id)
    now = now or utcnow()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + ROTATION_GRACE
    endpoint.secret = signing.new_secret()
    return endpoint


def secrets_in_use(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]


def pause_endpoint(
    session: Session,
    endpoint_id: int,
    *,
    reason: PauseReason = PauseReason.admin,
    now: datetime | None = None,
) -> WebhookEndpoint:
    endpoint = get_endpoint(session, endpoint_id)
    if endpoint.paused_reason is None:
        endpoint.paused_reason = reason
        endpoint.paused_at = now or utcnow()
    return endpoint


def resume_endpoint(
    session: Session, endpoint_id: int, *, now: datetime | None = None
) -> WebhookEndpoint:
    """Deliveries held while paused go out now; the failure clock starts again, and a
    later auto-pause is mailed to admins again."""
    endpoint = get_endpoint(session, endpoint_id)
    now = now or utcnow()
    endpoint.paused_reason = None
    endpoint.paused_at = None
    endpoint.failing_since = None
    endpoint.pause_notified_at = None
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.state == DeliveryState.pending,
            WebhookDelivery.next_attempt_at > now,
        )
        .values(next_attempt_at=now)
    )
    return endpoint


def delete_endpoint(session: Session, endpoint_id: int) -> None:
    endpoint = get_endpoint(session, endpoint_id)
    for model in (WebhookSubscription, WebhookDelivery):
        session.execute(delete(model).where(model.endpoint_id == endpoint.id))
    session.delete(endpoint)


def auto_paused_endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.paused_reason == PauseReason.failing)
            .order_by(WebhookEndpoint.id)
        )
    )


def redeliver(
    session: Session, endpoint_id: int, delivery_id: int, *, now: datetime | None = None
) -> WebhookDelivery:
    """Send a delivery again (succeeded, abandoned or waiting), with the same webhook-id,
    starting a fresh retry schedule."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint_id:
        raise EndpointNotFound(delivery_id)
    delivery.state = DeliveryState.pending
    delivery.attempts = 0
    delivery.next_attempt_at = now or utcnow()
    delivery.leased_until = None
    return delivery


def send_test_event(
    session: Session, endpoint_id: int, *, now: datetime | None = None
) -> WebhookDelivery:
    """A `webhook.test` event delivered to this endpoint only. It is no feature's event,
    so it is added directly with its delivery, not through record_event and the fan-out."""
    endpoint = get_endpoint(session, endpoint_id)
    now = now or utcnow()
    event = Event(
        uid=new_event_uid(),
        type=TEST_EVENT_TYPE,
        subject_kind="endpoint",
        subject_id=endpoint.id,
        payload={"endpoint_id": endpoint.id, "message": "This is a test event."},
        created_at=now,
    )
    session.add(event)
    session.flush()
    delivery = WebhookDelivery(
        event_id=event.id,
        endpoint_id=endpoint.id,
        subject_key=event.subject_key,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    return delivery


@dataclass(frozen=True)
class LogEntry:
    delivery: WebhookDelivery
    event: Event
    attempts: list[WebhookAttempt]


def delivery_log(
    session: Session, endpoint_id: int, *, offset: int = 0, limit: int = 50
) -> list[LogEntry]:
    """The endpoint's deliveries, newest first, each with its event and attempts."""
    rows = session.execute(
        select(WebhookDelivery, Event)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    ids = [delivery.id for delivery, _ in rows]
    attempts: dict[int, list[WebhookAttempt]] = {id_: [] for id_ in ids}
    if ids:
        for attempt in session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(ids))
            .order_by(WebhookAttempt.id)
        ):
            attempts[attempt.delivery_id].append(attempt)
    return [LogEntry(delivery, event, attempts[delivery.id]) for delivery, event in rows]


def count_deliveries(session: Session, endpoint_id: int) -> int:
    return (
        session.scalar(select(func.count()).where(WebhookDelivery.endpoint_id == endpoint_id)) or 0
    )
