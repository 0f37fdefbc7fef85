"""Segments, campaigns, one delivery per recipient, tracking events and the suppression list."""

from __future__ import annotations

import enum
from datetime import datetime, time

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.db import Base, UTCDateTime, utcnow


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, validate_strings=True)


class Segment(Base):
    """Rules are a JSON tree of groups and conditions, compiled to one SQL query."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    rules: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CampaignStatus(enum.StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    sending = "sending"
    paused = "paused"
    sent = "sent"
    cancelled = "cancelled"


class HoldAction(enum.StrEnum):
    """What becomes of a message the frequency cap or quiet hours hold back."""

    defer = "defer"
    skip = "skip"


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(998), default="")
    from_name: Mapped[str] = mapped_column(String(200), default="")
    from_email: Mapped[str] = mapped_column(String(320), default="")
    reply_to: Mapped[str] = mapped_column(String(320), default="")
    # The identity the From was taken from (the From itself is kept on the campaign);
    # no foreign key, so adding it did not rebuild this table on SQLite.
    sending_identity_id: Mapped[int | None] = mapped_column(Integer)
    # Advertising under Korea's information-network act: "(광고)" subject, Korean footer
    # and the night-time rule.
    advertising: Mapped[bool] = mapped_column(Boolean, default=False)
    html_body: Mapped[str] = mapped_column(Text, default="")
    text_body: Mapped[str] = mapped_column(Text, default="")
    # False while the text part is generated from the HTML; True once a marketer edits it.
    text_edited: Mapped[bool] = mapped_column(Boolean, default=False)
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"))
    status: Mapped[CampaignStatus] = mapped_column(
        _enum(CampaignStatus), default=CampaignStatus.draft, index=True
    )
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who paused it (their name), or, when sending paused itself after failures in a row,
    # the last failure's SMTP answer; the page words it in the viewer's language.
    paused_by: Mapped[str] = mapped_column(String(200), default="")
    pause_reason: Mapped[str] = mapped_column(Text, default="")
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    total_recipients: Mapped[int] = mapped_column(Integer, default=0)
    hold_action: Mapped[HoldAction] = mapped_column(_enum(HoldAction), default=HoldAction.defer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class NightAdMode(enum.StrEnum):
    # Night-time (21:00-08:00 KST) advertising waits for the morning for everyone, or
    # only for those without the separate night-time consent.
    defer = "defer"
    consent = "consent"


class MarketingSettings(Base):
    """The organisation's one row of advertising settings: who the sender is, as the
    advertising footer names them, and the night-time rule."""

    __tablename__ = "marketing_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    sender_contact: Mapped[str] = mapped_column(String(500), default="")
    night_mode: Mapped[NightAdMode] = mapped_column(_enum(NightAdMode), default=NightAdMode.defer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SendingIdentity(Base):
    """A From address campaigns may use, once a mail to it has been confirmed."""

    __tablename__ = "sending_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    reply_to: Mapped[str] = mapped_column(String(320), default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeliveryState(enum.StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    # Left in `sending` by a worker that died: the server may or may not have accepted it,
    # so it is not sent again (at most once) and the report shows it.
    uncertain = "uncertain"
    skipped = "skipped"


class Delivery(Base):
    """One recipient of one campaign; the unique key is what makes "at most once" hold."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    # Random and unique: carried (signed) in tracking links and the VERP return path.
    token: Mapped[str] = mapped_column(String(40), unique=True)
    state: Mapped[DeliveryState] = mapped_column(
        _enum(DeliveryState), default=DeliveryState.pending
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str] = mapped_column(String(100), default="")
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    first_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    open_count: Mapped[int] = mapped_column(Integer, default=0)
    machine_open_count: Mapped[int] = mapped_column(Integer, default=0)
    first_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    click_count: Mapped[int] = mapped_column(Integer, default=0)
    bounce_kind: Mapped[str] = mapped_column(String(20), default="")
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    complained_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set once the frequency cap or quiet hours held this delivery back (deferred, or
    # skipped when the campaign says so), and kept after it is sent, for the report.
    held_by_cap: Mapped[bool] = mapped_column(Boolean, default=False)
    held_by_quiet_hours: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id"),
        Index("ix_deliveries_campaign_state", "campaign_id", "state", "id"),
        Index("ix_deliveries_customer", "customer_id"),
        # Segments ask "opened / clicked within N days": a range over the few deliveries
        # that were opened, instead of a scan of every delivery ever made.
        *(
            Index(
                f"ix_deliveries_{column}",
                column,
                "customer_id",
                postgresql_where=text(f"{column} IS NOT NULL"),
                sqlite_where=text(f"{column} IS NOT NULL"),
            )
            for column in ("first_opened_at", "first_clicked_at")
        ),
    )


class CampaignLink(Base):
    """A link of the campaign's own HTML: only these redirect (no open redirect)."""

    __tablename__ = "campaign_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (UniqueConstraint("campaign_id", "position"),)


class OpenEvent(Base):
    __tablename__ = "open_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    is_machine: Mapped[bool] = mapped_column(Boolean, default=False)
    user_agent: Mapped[str] = mapped_column(String(500), default="")


class ClickEvent(Base):
    __tablename__ = "click_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    link_id: Mapped[int] = mapped_column(ForeignKey("campaign_links.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_agent: Mapped[str] = mapped_column(String(500), default="")


class SuppressionReason(enum.StrEnum):
    unsubscribed = "unsubscribed"
    hard_bounce = "hard_bounce"
    soft_bounces = "soft_bounces"
    complaint = "complaint"
    manual = "manual"


class Suppression(Base):
    """Addresses no campaign may mail, whatever a segment's rules say."""

    __tablename__ = "suppressions"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    reason: Mapped[SuppressionReason] = mapped_column(_enum(SuppressionReason))
    detail: Mapped[str] = mapped_column(Text, default="")
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrackingBatch(Base):
    """A batch of buffered opens and clicks already applied to the figures.

    Written in the same transaction as the batch's counts, so a batch handed out again
    (its flusher died after the commit, before telling Redis) is recognised and not
    counted twice.
    """

    __tablename__ = "tracking_batches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class MarketingRules(Base):
    """The organisation's one row of rules for all marketing mail: a frequency cap per
    customer and quiet hours. Ticket replies and other support mail never pass them."""

    __tablename__ = "marketing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    # At most `cap_messages` marketing messages per customer in any `cap_days` days;
    # no cap while `cap_messages` is None.
    cap_messages: Mapped[int | None] = mapped_column(Integer)
    cap_days: Mapped[int] = mapped_column(Integer, default=7)
    # Local wall-clock times in `timezone`; an end before the start spans midnight.
    # No quiet hours while either is None.
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
