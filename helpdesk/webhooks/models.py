"""Webhook endpoints, the event types each subscribes to, one delivery per event and
endpoint, each attempt of it, and how far the event stream has been fanned out."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.db import Base, UTCDateTime, utcnow


class PauseReason(enum.StrEnum):
    admin = "admin"
    # Paused by delivery after a day of failures in a row; admins see a notice.
    failing = "failing"


class DeliveryState(enum.StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    # Every attempt of the retry schedule failed; it is not tried again unless redelivered.
    abandoned = "abandoned"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, validate_strings=True)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    # Standard Webhooks secret ("whsec_" + base64). After a rotation the previous one
    # still signs until previous_secret_expires_at, so receivers can switch over.
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_reason: Mapped[PauseReason | None] = mapped_column(_enum(PauseReason))
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set at the first failed attempt after a success; a day of that pauses the endpoint.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When admins were mailed about the current auto-pause: one mail per pause, cleared
    # when the endpoint is resumed.
    pause_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def paused(self) -> bool:
        return self.paused_reason is not None


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), primary_key=True
    )
    event_type: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        # The claim's per-subject order check and the delivery log.
        Index("ix_webhook_deliveries_order", "endpoint_id", "subject_key", "event_id"),
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    subject_key: Mapped[str] = mapped_column(String(80))
    state: Mapped[DeliveryState] = mapped_column(
        _enum(DeliveryState), default=DeliveryState.pending
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A job that claimed it holds it until then; after that it is presumed dead and the
    # delivery is tried again (at least once, never lost).
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(String(500), default="")
    response_body: Mapped[str] = mapped_column(Text, default="")


class WebhookFanout(Base):
    """One row: every event with an id up to `position` has its deliveries."""

    __tablename__ = "webhook_fanout"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
