"""Tickets, their messages (customer mail, agent replies, notes, events) and attachments."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    Column,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    func,
    null,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.customers.models import Tag
from helpdesk.db import Base, UTCDateTime, utcnow


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, validate_strings=True)


class TicketStatus(enum.StrEnum):
    new = "new"
    open = "open"
    waiting = "waiting"
    resolved = "resolved"
    closed = "closed"


# Tickets still to be worked on, and tickets that are done (a customer reply reopens them).
OPEN_STATUSES = (TicketStatus.new, TicketStatus.open, TicketStatus.waiting)
DONE_STATUSES = (TicketStatus.resolved, TicketStatus.closed)


class Priority(enum.StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class MessageKind(enum.StrEnum):
    customer = "customer"  # mail from the customer (or a participant)
    reply = "reply"  # an agent's answer, mailed out
    note = "note"  # internal, never mailed
    auto_reply = "auto_reply"  # out-of-office and other automatic answers, shown collapsed
    acknowledgement = "acknowledgement"  # our automatic receipt
    event = "event"  # merged, reopened, ... shown as a line in the conversation


class TicketChannel(enum.StrEnum):
    """How the conversation began: mail, the contact form, or one an agent logged."""

    email = "email"
    web_form = "web_form"
    phone = "phone"
    visit = "visit"


class SendStatus(enum.StrEnum):
    queued = "queued"
    sending = "sending"
    sent = "sent"
    failed = "failed"


ticket_tags = Table(
    "ticket_tags",
    Base.metadata,
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(998), default="")
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus), default=TicketStatus.new)
    priority: Mapped[Priority] = mapped_column(_enum(Priority), default=Priority.normal)
    channel: Mapped[TicketChannel] = mapped_column(
        _enum(TicketChannel), default=TicketChannel.email
    )
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="SET NULL"), index=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    follow_up_of_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    # Bumped by every change an agent must see before replying (optimistic concurrency).
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_customer_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_agent_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When our next answer is due (first or next response target); None while the
    # customer owes us nothing. The Overdue view is `response_due_at < now`.
    response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # When the first answer was (or is) due, in the mailbox's business hours; kept after
    # the answer, so that reports can tell a late first response from one in time.
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    customer_replied_last: Mapped[bool] = mapped_column(Boolean, default=True)

    tags: Mapped[list[Tag]] = relationship(secondary=ticket_tags, order_by=Tag.name)
    messages: Mapped[list[Message]] = relationship(
        back_populates="ticket", order_by="Message.created_at, Message.id"
    )

    __table_args__ = (
        # Covers the grouped count behind the views' numbers (an index-only scan).
        Index("ix_tickets_status_assignee_due", "status", "assignee_id", "response_due_at"),
        # The queue views filter on status (and assignee) and sort by the last change.
        Index("ix_tickets_status_updated", "status", "updated_at"),
        Index("ix_tickets_assignee_status_updated", "assignee_id", "status", "updated_at"),
        Index(
            "ix_tickets_subject_trgm",
            func.lower(subject).label("subject_lower"),
            postgresql_using="gin",
            postgresql_ops={"subject_lower": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_tickets_subject_chars",
            func.string_to_array(func.lower(subject), null()),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    @property
    def reference(self) -> str:
        return f"#{self.id}"


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[MessageKind] = mapped_column(_enum(MessageKind))
    raw_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("raw_messages.id", ondelete="SET NULL")
    )
    # RFC 5322 Message-ID without angle brackets; ours are signed (see tickets.threading).
    message_id: Mapped[str | None] = mapped_column(String(998), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[list[str]] = mapped_column(JSON, default=list)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    from_email: Mapped[str] = mapped_column(String(320), default="")
    from_name: Mapped[str] = mapped_column(String(200), default="")
    to: Mapped[list[str]] = mapped_column(JSON, default=list)
    cc: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(998), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_reply: Mapped[str] = mapped_column(Text, default="")
    body_html_safe: Mapped[str | None] = mapped_column(Text)
    send_status: Mapped[SendStatus | None] = mapped_column(_enum(SendStatus))
    send_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    ticket: Mapped[Ticket] = relationship(back_populates="messages")

    # Substring search over message text (Korean included). On PostgreSQL a trigram GIN
    # index serves terms with three letters in a row; shorter ones (most Korean words
    # have two syllables) use the index of the characters each text contains, since
    # pg_trgm extracts no trigram from them. SQLite gets the FTS5 table below instead.
    __table_args__ = (
        # The customer's timeline picks their newest messages of some kinds across all
        # their tickets from this index alone, without reading the (long) message rows.
        Index("ix_messages_ticket_kind_created", "ticket_id", "kind", "created_at"),
        Index(
            "ix_messages_body_text_trgm",
            func.lower(body_text).label("body_text_lower"),
            postgresql_using="gin",
            postgresql_ops={"body_text_lower": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_messages_body_text_chars",
            func.string_to_array(func.lower(body_text), null()),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", cascade="all, delete-orphan"
    )


class AttachmentBlob(Base):
    """Attachment bytes stored once by content hash, however many messages carry them."""

    __tablename__ = "attachment_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    blob_sha256: Mapped[str | None] = mapped_column(ForeignKey("attachment_blobs.sha256"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    content_id: Mapped[str | None] = mapped_column(String(255))
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    too_large: Mapped[bool] = mapped_column(Boolean, default=False)

    message: Mapped[Message] = relationship(back_populates="attachments")


class Participant(Base):
    """Someone besides the customer on the conversation (Cc'd addresses)."""

    __tablename__ = "ticket_participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (UniqueConstraint("ticket_id", "email"),)


class SLAPolicy(Base):
    """Response targets per mailbox and priority; mailbox_id None is the default policy."""

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    priority: Mapped[Priority] = mapped_column(_enum(Priority))
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    next_response_minutes: Mapped[int] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("mailbox_id", "priority"),)


class Mention(Base):
    """An @mention of an agent in an internal note, listed in that agent's Mentions view."""

    __tablename__ = "mentions"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TicketMerge(Base):
    """One merge of `source` into `target`, with what it moved and the fields it
    changed, so that it can be undone for a few minutes afterwards."""

    __tablename__ = "ticket_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Ids of the rows moved or added: {"messages": [...], "mentions": [...],
    # "raw_messages": [...], "participants": [...], "tags": [...]}.
    moved: Mapped[dict] = mapped_column(JSON, default=dict)
    # Both tickets' fields before the merge, as ISO strings and enum values.
    source_before: Mapped[dict] = mapped_column(JSON, default=dict)
    target_before: Mapped[dict] = mapped_column(JSON, default=dict)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


# Search DDL the models cannot express. The migration must run the same statements
# (see helpdesk.tickets.models.SEARCH_DDL), since autogenerate does not see them.
#
# SQLite keeps one FTS5 trigram document per ticket (rowid = ticket id): the subject and
# the text of all its messages, so a search yields ticket ids without a lookup per
# message. Each text ends in two newlines so that every character starts some trigram:
# a one- or two-character term (most Korean words have two syllables) becomes the
# trigrams that start with it, listed by the fts5vocab table, and still finds every
# occurrence, the last characters of a text included.
SEARCH_TEXT_END = "char(10, 10)"
SEARCH_DDL = {
    "postgresql": ["CREATE EXTENSION IF NOT EXISTS pg_trgm"],
    "sqlite": [
        "CREATE VIRTUAL TABLE IF NOT EXISTS ticket_search USING fts5("
        "subject, body, tokenize='trigram')",
        "CREATE VIRTUAL TABLE IF NOT EXISTS ticket_search_vocab "
        "USING fts5vocab(ticket_search, row)",
        "CREATE TRIGGER IF NOT EXISTS ticket_search_insert AFTER INSERT ON tickets BEGIN "
        "INSERT INTO ticket_search(rowid, subject, body) "
        f"VALUES (new.id, new.subject || {SEARCH_TEXT_END}, ''); END",
        "CREATE TRIGGER IF NOT EXISTS ticket_search_subject "
        "AFTER UPDATE OF subject ON tickets BEGIN "
        f"UPDATE ticket_search SET subject = new.subject || {SEARCH_TEXT_END} "
        "WHERE rowid = new.id; END",
        "CREATE TRIGGER IF NOT EXISTS ticket_search_delete AFTER DELETE ON tickets BEGIN "
        "DELETE FROM ticket_search WHERE rowid = old.id; END",
        "CREATE TRIGGER IF NOT EXISTS ticket_search_message AFTER INSERT ON messages BEGIN "
        f"UPDATE ticket_search SET body = body || new.body_text || {SEARCH_TEXT_END} "
        "WHERE rowid = new.ticket_id; END",
        # Edits, deletions and merges (a message moving to another ticket) rebuild the
        # documents concerned from the messages table.
        "CREATE TRIGGER IF NOT EXISTS ticket_search_message_change "
        "AFTER UPDATE OF body_text, ticket_id ON messages BEGIN "
        "UPDATE ticket_search SET body = ("
        f"SELECT coalesce(group_concat(body_text || {SEARCH_TEXT_END}, ''), '') "
        "FROM messages WHERE ticket_id = ticket_search.rowid) "
        "WHERE rowid IN (old.ticket_id, new.ticket_id); END",
        "CREATE TRIGGER IF NOT EXISTS ticket_search_message_delete "
        "AFTER DELETE ON messages BEGIN "
        "UPDATE ticket_search SET body = ("
        f"SELECT coalesce(group_concat(body_text || {SEARCH_TEXT_END}, ''), '') "
        "FROM messages WHERE ticket_id = old.ticket_id) WHERE rowid = old.ticket_id; END",
    ],
}

# pg_trgm must exist before the GIN indexes that use its operator class.
event.listen(
    Base.metadata,
    "before_create",
    DDL(SEARCH_DDL["postgresql"][0]).execute_if(dialect="postgresql"),
)
# Messages are created after tickets, so both tables exist when this runs.
for _statement in SEARCH_DDL["sqlite"]:
    event.listen(Message.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _name in ("ticket_search_vocab", "ticket_search"):
    event.listen(
        Message.__table__,
        "before_drop",
        DDL(f"DROP TABLE IF EXISTS {_name}").execute_if(dialect="sqlite"),
    )
