"""Notifications for agents, each agent's switches per kind, and the mailboxes they watch."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.db import Base, UTCDateTime, utcnow


class NotificationKind(enum.StrEnum):
    assigned = "assigned"
    mentioned = "mentioned"
    customer_replied = "customer_replied"
    overdue = "overdue"
    new_ticket = "new_ticket"
    bad_rating = "bad_rating"


def _kind() -> Enum:
    return Enum(NotificationKind, native_enum=False, length=20, validate_strings=True)


class Notification(Base):
    """Something an agent should know of, about one ticket. `send_email` is true while
    a mail of it waits; the mail job clears it as it claims the row (and sets
    `emailed_at`), so a notification is mailed at most once."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(_kind())
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The ticket's subject when it happened, so the list needs no join.
    title: Mapped[str] = mapped_column(String(300), default="")
    # Shown in the app (False: only mailed, the agent switched the bell off for the kind).
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    send_email: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_notifications_user_unread", "user_id", "read_at"),
        Index("ix_notifications_ticket_kind", "ticket_id", "kind"),
        Index("ix_notifications_send_email", "send_email"),
    )


class NotificationSetting(Base):
    """One agent's switches for one kind; without a row, the bell is on and mail off."""

    __tablename__ = "notification_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(_kind())
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (UniqueConstraint("user_id", "kind"),)


class MailboxWatch(Base):
    """An agent who wants to hear of every new ticket in a mailbox."""

    __tablename__ = "mailbox_watches"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))

    __table_args__ = (UniqueConstraint("user_id", "mailbox_id"),)
