"""Mailboxes we receive for, every raw message received, and bounce/complaint events."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.db import Base, UTCDateTime, utcnow


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, validate_strings=True)


class TLSMode(enum.StrEnum):
    ssl = "ssl"
    starttls = "starttls"
    none = "none"


class ClosedReplyPolicy(enum.StrEnum):
    reopen = "reopen"
    follow_up = "follow_up"


class Mailbox(Base):
    """An address customers write to. The IMAP password is never stored here: `password_ref`
    names where to read it (``env:NAME`` or ``file:/path``), resolved by helpdesk.config."""

    __tablename__ = "mailboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(320), unique=True)
    imap_host: Mapped[str] = mapped_column(String(255), default="")
    imap_port: Mapped[int] = mapped_column(Integer, default=993)
    imap_tls: Mapped[TLSMode] = mapped_column(_enum(TLSMode), default=TLSMode.ssl)
    imap_user: Mapped[str] = mapped_column(String(320), default="")
    password_ref: Mapped[str] = mapped_column(String(500), default="")
    imap_folder: Mapped[str] = mapped_column(String(255), default="INBOX")
    archive_folder: Mapped[str | None] = mapped_column(String(255))
    poll_interval_seconds: Mapped[int] = mapped_column(Integer, default=60)
    start_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    send_acknowledgement: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_reply_policy: Mapped[ClosedReplyPolicy] = mapped_column(
        _enum(ClosedReplyPolicy), default=ClosedReplyPolicy.reopen
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    auto_assign: Mapped[bool] = mapped_column(Boolean, default=False)
    last_assigned_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # Response targets count only business hours when set: {"timezone": "Asia/Seoul",
    # "days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}.
    business_hours: Mapped[dict | None] = mapped_column(JSON)
    # A sandboxed Jinja template under every reply from this mailbox; it places the
    # agent's own signature with {{ agent_signature }} (else that goes above it);
    # `signature` for replies in English, `signature_ko` for replies in Korean.
    signature: Mapped[str] = mapped_column(Text, default="", server_default="")
    signature_ko: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The language of replies ("en" or "ko") to customers whose language is not known.
    reply_language: Mapped[str] = mapped_column(String(2), default="en", server_default="en")
    # Replying to an unassigned ticket gives it to the replier, so answered tickets
    # do not stay in Unassigned.
    assign_on_reply: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    # Poll state: fetch only UIDs above last_uid while UIDVALIDITY is unchanged (RFC 3501 2.3.1.1).
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_poll_fetched: Mapped[int] = mapped_column(Integer, default=0)
    total_fetched: Mapped[int] = mapped_column(BigInteger, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def has_imap(self) -> bool:
        return bool(self.imap_host and self.imap_user)


class RawStatus(enum.StrEnum):
    received = "received"
    ingested = "ingested"
    duplicate = "duplicate"
    auto_reply = "auto_reply"
    bounce = "bounce"
    complaint = "complaint"
    dropped = "dropped"
    quarantined = "quarantined"


class RawSource(enum.StrEnum):
    imap = "imap"
    smtp = "smtp"
    form = "form"
    api = "api"


class RawMessage(Base):
    """Every message exactly as received, stored before anything else happens to it."""

    __tablename__ = "raw_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[RawSource] = mapped_column(_enum(RawSource))
    imap_uid: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    status: Mapped[RawStatus] = mapped_column(
        _enum(RawStatus), default=RawStatus.received, index=True
    )
    status_reason: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("raw_messages.id"))
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SeenMessage(Base):
    """The dedupe ledger: one row per Message-ID (or raw SHA-256) ever ingested, and one
    per further mail that reused a Message-ID (see helpdesk.inbound.incoming.same_mail_key).

    The unique key makes "nothing is ingested twice" hold in the database, across
    re-polls, crashes between commit and flag, and the same mail in two mailboxes.
    """

    __tablename__ = "seen_messages"

    dedupe_key: Mapped[str] = mapped_column(String(1000), primary_key=True)
    raw_message_id: Mapped[int] = mapped_column(ForeignKey("raw_messages.id", ondelete="CASCADE"))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The holder's `mail_identity`: a copy with the same Message-ID is the same mail only
    # when this matches. None for mail without Message-ID and for rows from before it was
    # kept (computed from the holder's bytes when first needed).
    identity: Mapped[str | None] = mapped_column(String(64))


class DeliveryProblemKind(enum.StrEnum):
    hard_bounce = "hard_bounce"
    soft_bounce = "soft_bounce"
    complaint = "complaint"


class DeliveryProblem(Base):
    """A bounce or complaint that came back for one of our addresses' recipients."""

    __tablename__ = "delivery_problems"

    id: Mapped[int] = mapped_column(primary_key=True)
    raw_message_id: Mapped[int] = mapped_column(ForeignKey("raw_messages.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    recipient: Mapped[str] = mapped_column(String(320), default="")
    kind: Mapped[DeliveryProblemKind] = mapped_column(_enum(DeliveryProblemKind))
    status_code: Mapped[str] = mapped_column(String(20), default="")
    diagnostic: Mapped[str] = mapped_column(Text, default="")
    original_message_id: Mapped[str | None] = mapped_column(String(998))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
