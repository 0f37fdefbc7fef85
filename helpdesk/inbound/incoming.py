"""What ingest takes and gives, and what its stages share: the settings, a received
message (`Incoming`, parsed ahead by the transport or not), the result per message, the
rows a batch collects before writing them, and small helpers (the dedupe key, our own
addresses, header look-up)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.config import Config
from helpdesk.mail.models import Mailbox, RawStatus
from helpdesk.mail.outbound import LOOP_HEADER
from helpdesk.mail.parse import ParsedMail, parse_message
from helpdesk.tickets.models import Ticket


@dataclass(frozen=True)
class IngestSettings:
    secret_key: str
    domain: str  # right-hand side of our Message-IDs
    own_addresses: frozenset[str] = frozenset()
    max_attachment_bytes: int = 25 * 1024 * 1024
    ack_limit: int = 10
    ack_window: timedelta = timedelta(hours=3)
    soft_bounce_limit: int = 3

    @classmethod
    def from_config(cls, config: Config, **overrides) -> IngestSettings:
        values = {"soft_bounce_limit": config.soft_bounce_limit} | overrides
        return cls(secret_key=config.secret_key, domain=config.effective_mail_domain, **values)


@dataclass(frozen=True)
class IngestResult:
    raw_message_id: int
    status: RawStatus
    ticket_id: int | None = None
    message_id: int | None = None  # the Message row made from this mail
    created_ticket: bool = False
    reason: str = ""
    acknowledgement_id: int | None = None
    # The batch this message came in with left notification mail for agents to send.
    notification_mail: bool = False


class RawMessageNotFound(LookupError):
    pass


class NotQuarantined(ValueError):
    """Only quarantined messages can be processed again; the others reached their end."""


def dedupe_key(parsed: ParsedMail) -> str:
    """The ledger key the first mail with this Message-ID holds; without a Message-ID the
    exact bytes are the identity."""
    return (parsed.message_id or f"sha256:{parsed.sha256}")[:1000]


def mail_identity(parsed: ParsedMail) -> str | None:
    """What makes two copies with one Message-ID the same mail: the Message-ID, the
    sender's address (lower-cased) and the Date (as an instant in UTC, or its text where
    it does not parse). None without a Message-ID, where the bytes decide.

    Message-IDs are meant to be unique (RFC 5322 3.6.4), but broken senders and some
    gateways reuse them. The bytes cannot tell: one mail relayed by two routes (the SMTP
    gateway and the IMAP mailbox) differs in its Received and Delivered-To fields, while
    the author's From and Date travel unchanged.
    """
    if not parsed.message_id:
        return None
    sender = parsed.from_.email.strip().lower() if parsed.from_ and parsed.from_.email else ""
    if parsed.date is not None:
        date = parsed.date.isoformat()
    else:
        date = "text:" + " ".join((header(parsed, "Date") or "").split())
    text = "\n".join((parsed.message_id, sender, date))
    return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()


def same_mail_key(identity: str) -> str:
    """The ledger key of a mail that reused the Message-ID of a different one: its copies
    are duplicates of it, not of the first holder."""
    return f"same-mail:{identity}"


@dataclass(frozen=True)
class Incoming:
    """One received message for `ingest_batch`: its bytes, from IMAP its UID, and its
    parse when the transport parsed it ahead (see `parse_incoming`)."""

    raw: bytes
    imap_uid: int | None = None
    parsed: ParsedMail | None = None


def parse_incoming(raw: bytes, settings: IngestSettings, own: frozenset[str]) -> ParsedMail:
    """`parse_message` as ingest calls it. `own`: `own_addresses`, our own mail's senders.

    Parsing changes nothing, so a transport may run it before the bytes are stored (the
    poller does, in another process, while the previous batch is written)."""
    return parse_message(
        raw,
        max_attachment_bytes=settings.max_attachment_bytes,
        own_addresses=own,
        loop_header=LOOP_HEADER,
    )


@dataclass
class _Stored:
    """A committed raw row on its way through ingest."""

    id: int
    content: bytes
    mailbox_id: int | None
    parsed: ParsedMail | None = None
    message_id: str | None = None  # from its header, once parsed


def own_addresses(session: Session, settings: IngestSettings) -> frozenset[str]:
    """Every address we send from, lower-cased: mail from them is our own coming back."""
    return _own(session.scalars(select(Mailbox.address)).all(), settings)


def _own(mailbox_addresses, settings: IngestSettings) -> frozenset[str]:
    return frozenset(a.lower() for a in (*mailbox_addresses, *settings.own_addresses))


class KnownCustomer(NamedTuple):
    """What ingest needs of a customer. A batch reads hundreds; as ORM objects, with all
    their columns and the identity map's bookkeeping, they cost more than the query."""

    id: int
    email: str
    name: str


@dataclass
class _NewMessage:
    """A message row waiting for the batch's INSERT, which sets its `id`.

    Plain rows instead of ORM objects: a batch writes hundreds of them, and the unit of
    work's bookkeeping per object would cost more than the INSERT itself.
    """

    ticket: Ticket
    values: dict
    attachments: list[dict]
    id: int | None = None


@dataclass
class _Outcome:
    """What one message became. Rows added in the batch get their ids when it writes
    them, so the outcome holds the rows and `result` reads the ids afterwards."""

    status: RawStatus
    reason: str
    ticket: Ticket | None = None
    ticket_id: int | None = None  # of a ticket not loaded (a duplicate's original)
    duplicate_of_id: int | None = None
    message: _NewMessage | None = None
    created_ticket: bool = False
    acknowledge: KnownCustomer | None = None  # the customer a receipt goes to
    acknowledgement: _NewMessage | None = None

    def result(self, raw_message_id: int, notification_mail: bool = False) -> IngestResult:
        return IngestResult(
            raw_message_id,
            self.status,
            ticket_id=self.ticket.id if self.ticket is not None else self.ticket_id,
            message_id=self.message.id if self.message is not None else None,
            created_ticket=self.created_ticket,
            reason=self.reason,
            acknowledgement_id=self.acknowledgement.id if self.acknowledgement else None,
            notification_mail=notification_mail,
        )


def header(parsed: ParsedMail, name: str) -> str | None:
    """A top-level header's value by case-insensitive name, or None when absent (the
    parser keys `headers` by the lower-cased name, the first of repeated fields)."""
    return (parsed.headers or {}).get(name.lower())
