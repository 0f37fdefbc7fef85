"""Each mailbox's survey settings, and one survey per ticket with its rating."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.db import Base, UTCDateTime, utcnow


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, validate_strings=True)


class BadRatingAction(enum.StrEnum):
    nothing = "nothing"
    reopen = "reopen"
    notify_assignee = "notify_assignee"


class Rating(enum.StrEnum):
    good = "good"
    ok = "ok"
    bad = "bad"


class SurveyState(enum.StrEnum):
    """`sending -> sent | failed`; `skipped` when a rule says this ticket gets none."""

    sending = "sending"
    sent = "sent"
    failed = "failed"
    skipped = "skipped"


class SkipReason(enum.StrEnum):
    merged = "merged"
    spam = "spam"
    duplicate = "duplicate"
    auto_reply = "auto_reply"
    bounce = "bounce"
    recently_surveyed = "recently_surveyed"


class SurveySettings(Base):
    """A mailbox's survey; without a row the mailbox sends none."""

    __tablename__ = "survey_settings"

    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set each time the survey is switched on: tickets resolved before it get none, so
    # switching on does not mail every customer of the mailbox's past.
    enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delay_minutes: Mapped[int] = mapped_column(Integer, default=24 * 60)
    question_en: Mapped[str] = mapped_column(Text, default="")
    question_ko: Mapped[str] = mapped_column(Text, default="")
    # A customer surveyed (on any ticket) fewer than this many days ago is not asked again.
    quiet_days: Mapped[int] = mapped_column(Integer, default=30)
    bad_rating_action: Mapped[BadRatingAction] = mapped_column(
        _enum(BadRatingAction), default=BadRatingAction.nothing
    )


class Survey(Base):
    """The survey of one ticket: the unique ticket id is the claim that makes two
    workers unable to both send one, and `token` (random, signed in the links) names it."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), unique=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="SET NULL"), index=True
    )
    # The agent the ticket was assigned to when it was resolved: CSAT per agent counts it.
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[SurveyState] = mapped_column(_enum(SurveyState))
    skip_reason: Mapped[SkipReason | None] = mapped_column(_enum(SkipReason))
    send_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[Rating | None] = mapped_column(_enum(Rating))
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    commented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # "Surveyed within N days" looks up a customer's latest surveys.
        Index("ix_surveys_customer_created", "customer_id", "created_at"),
    )
