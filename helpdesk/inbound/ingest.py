"""Raw mail to tickets: store, dedupe, classify, thread or open a ticket, acknowledge.

Every transport (IMAP poller, SMTP gateway, contact form) hands raw RFC 5322 bytes to
`ingest_message`, or a fetched batch of them to `ingest_batch`. The bytes are committed
first, so nothing is lost whatever happens next; every raw row then ends as a ticket
message, a threaded auto-reply, a recorded bounce or complaint, a duplicate, a dropped
loop, or a quarantined message with its reason. The caller queues the acknowledgements
the results name, after the commit.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from helpdesk.campaigns.suppression import apply_delivery_problem
from helpdesk.campaigns.tracking import is_unsubscribe_address, unsubscribe_by_address
from helpdesk.config import Config
from helpdesk.customers.models import Customer
from helpdesk.customers.normalize import InvalidEmail, normalize_email, normalize_text
from helpdesk.db import assign_ids, chunks, insert_returning_ids, utcnow
from helpdesk.mail.models import (
    ClosedReplyPolicy,
    DeliveryProblem,
    DeliveryProblemKind,
    Mailbox,
    RawMessage,
    RawSource,
    RawStatus,
    SeenMessage,
)
from helpdesk.mail.outbound import LOOP_HEADER
from helpdesk.mail.parse import Kind, ParsedMail, parse_message
from helpdesk.tickets.assignment import auto_assign
from helpdesk.tickets.models import (
    Attachment,
    AttachmentBlob,
    Message,
    MessageKind,
    Participant,
    Priority,
    SendStatus,
    Ticket,
    TicketStatus,
)
from helpdesk.tickets.sla import (
    Targets,
    add_working_minutes,
    apply_sla,
    business_hours_of,
    targets_for,
    unanswered_since,
    unanswered_since_by_ticket,
)
from helpdesk.tickets.threading import (
    MAX_TICKET_ID,
    make_body_marker,
    make_message_id,
    ticket_id_from_body,
    ticket_id_from_message_id,
)

log = logging.getLogger(__name__)

_SUBJECT_TOKEN = re.compile(r"\[#([0-9]{1,10})\]")
# Addresses that never read what they receive; an acknowledgement to them is noise at
# best and a mail loop at worst (RFC 3834 section 2).
_UNATTENDED_LOCAL_PART = re.compile(
    r"^(no-?reply|do-?not-?reply|mailer-daemon|postmaster|bounces?)([+._-].*)?$", re.IGNORECASE
)
_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})
# Longest merge chain followed; merges never form cycles, but a bad manual edit must not
# hang ingest.
_MAX_MERGE_HOPS = 50


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


class RawMessageNotFound(LookupError):
    pass


class NotQuarantined(ValueError):
    """Only quarantined messages can be processed again; the others reached their end."""


def dedupe_key(parsed: ParsedMail) -> str:
    # Message-IDs are unique by RFC 5322 3.6.4; without one the exact bytes are the identity.
    return (parsed.message_id or f"sha256:{parsed.sha256}")[:1000]


def store_raw(
    session: Session,
    raw: bytes,
    *,
    source: RawSource,
    mailbox_id: int | None = None,
    imap_uid: int | None = None,
) -> RawMessage:
    """Keep the bytes exactly as received, before anything can go wrong with them."""
    row = RawMessage(
        source=source,
        mailbox_id=mailbox_id,
        imap_uid=imap_uid,
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        content=raw,
        status=RawStatus.received,
    )
    session.add(row)
    session.flush()
    return row


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


def ingest_message(
    session: Session,
    raw: bytes,
    *,
    source: RawSource,
    settings: IngestSettings,
    mailbox_id: int | None = None,
    imap_uid: int | None = None,
) -> IngestResult:
    """Store and ingest one message, committing twice; never raises for bad mail."""
    return ingest_batch(
        session, [Incoming(raw, imap_uid)], source=source, settings=settings, mailbox_id=mailbox_id
    )[0]


def ingest_batch(
    session: Session,
    messages: Sequence[Incoming],
    *,
    source: RawSource,
    settings: IngestSettings,
    mailbox_id: int | None = None,
) -> list[IngestResult]:
    """Store a batch of received messages and ingest them; one result per message, in order.

    The raw bytes of the whole batch are committed first, in one transaction; the batch
    is then ingested in a second one. Never raises for bad mail: a message whose ingest
    fails is quarantined on its own (see `_ingest_stored`).
    """
    if not messages:
        return []
    now = utcnow()
    rows = [
        {
            "source": source,
            "mailbox_id": mailbox_id,
            "imap_uid": message.imap_uid,
            "sha256": hashlib.sha256(message.raw).hexdigest(),
            "size": len(message.raw),
            "content": message.raw,
            "status": RawStatus.received,
            "received_at": now,
        }
        for message in messages
    ]
    ids = insert_returning_ids(session, RawMessage, rows)
    session.commit()
    stored = [
        _Stored(id_, m.raw, mailbox_id, m.parsed) for id_, m in zip(ids, messages, strict=True)
    ]
    return _ingest_stored(session, stored, settings)


def reprocess_quarantined(
    session: Session, raw_message_id: int, settings: IngestSettings
) -> IngestResult:
    """Run a quarantined message through ingest again (after a parser fix or an outage)."""
    row = session.get(RawMessage, raw_message_id)
    if row is None:
        raise RawMessageNotFound(f"raw message {raw_message_id} does not exist")
    # Conditional, so two admins pressing the button at once cannot both ingest it.
    taken = session.execute(
        update(RawMessage)
        .where(RawMessage.id == raw_message_id, RawMessage.status == RawStatus.quarantined)
        .values(status=RawStatus.received, status_reason="", processed_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        raise NotQuarantined(f"raw message {raw_message_id} is {row.status}, not quarantined")
    stored = _Stored(row.id, row.content, row.mailbox_id)
    session.expire(row)
    return _ingest_stored(session, [stored], settings)[0]


def _ingest_stored(
    session: Session, stored: list[_Stored], settings: IngestSettings
) -> list[IngestResult]:
    """Ingest committed raw rows in one transaction and commit it.

    A batch is all or nothing: when anything in it fails, it is rolled back and each
    message is ingested again on its own, so a message that breaks ingest costs only its
    own quarantine and the others land as usual.
    """
    try:
        results = _Batch(session, settings).run(stored)
        session.commit()
        return results
    except Exception as exc:
        session.rollback()
        if len(stored) > 1:
            log.warning("ingest of a batch failed (%s); ingesting its messages one by one", exc)
            return [result for one in stored for result in _ingest_stored(session, [one], settings)]
        # The poller must go on to the next message, and this one must not vanish:
        # everything it did is rolled back and the stored bytes wait in quarantine.
        raw_message_id = stored[0].id
        log.exception("ingest of raw message %s failed", raw_message_id)
        reason = f"ingest failed: {type(exc).__name__}: {exc}"[:2000]
        session.execute(
            update(RawMessage)
            .where(RawMessage.id == raw_message_id)
            .values(status=RawStatus.quarantined, status_reason=reason, processed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return [IngestResult(raw_message_id, RawStatus.quarantined, reason=reason)]


def own_addresses(session: Session, settings: IngestSettings) -> frozenset[str]:
    """Every address we send from, lower-cased: mail from them is our own coming back."""
    return _own(session.scalars(select(Mailbox.address)).all(), settings)


def _own(mailbox_addresses, settings: IngestSettings) -> frozenset[str]:
    return frozenset(a.lower() for a in (*mailbox_addresses, *settings.own_addresses))


def _dialect_insert(session: Session):
    """The INSERT that can say ON CONFLICT DO NOTHING (same syntax on both our databases)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert
    return sqlite_insert


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
    acknowledge: Customer | None = None  # the customer a receipt goes to
    acknowledgement: _NewMessage | None = None

    def result(self, raw_message_id: int) -> IngestResult:
        return IngestResult(
            raw_message_id,
            self.status,
            ticket_id=self.ticket.id if self.ticket is not None else self.ticket_id,
            message_id=self.message.id if self.message is not None else None,
            created_ticket=self.created_ticket,
            reason=self.reason,
            acknowledgement_id=self.acknowledgement.id if self.acknowledgement else None,
        )


class _Batch:
    """What every message of one batch needs, read once per batch instead of per message:
    mailboxes and our own addresses, dedupe claims, the customers who wrote (new ones
    created together), the tickets of the Message-IDs the batch refers to and when their
    customers began waiting, response targets. Kept up to date as the batch adds rows, so
    a reply threads to a ticket opened earlier in the same batch.

    New tickets are only added to the session, new messages, blobs and version bumps
    collected; `write` at the end stores them all (one executemany per table, see
    `insert_returning_ids`), so a batch costs the same number of statements whatever its
    size.
    """

    def __init__(self, session: Session, settings: IngestSettings):
        self.session = session
        self.settings = settings
        self.mailboxes = {m.id: m for m in session.scalars(select(Mailbox))}
        self.own = _own([m.address for m in self.mailboxes.values()], settings)
        self.customers: dict[str, Customer] = {}  # by lower-cased address
        # Message-ID -> (ticket or its id, kind); None for Message-IDs no message has.
        self.messages: dict[str, tuple[Ticket | int, MessageKind] | None] = {}
        self.holders: dict[str, int] = {}  # dedupe key -> raw message id holding it
        self.outcomes: dict[int, _Outcome] = {}  # this batch's, by raw message id
        self.raw_tickets: dict[int, int | None] = {}  # earlier raw messages' tickets
        self.acks_sent: dict[int, int] = {}  # customer id -> acknowledgements in the window
        self.blobs: set[str] = set()
        self.pending_blobs: list[dict] = []
        self.new_tickets: list[Ticket] = []  # added to the session, in order
        self.replied: set[Ticket] = set()  # customer replies bump their version at write
        # Ticket -> its first customer message not answered yet, stored or in this batch.
        self.waiting: dict[Ticket, datetime | None] = {}
        self.pending: list[_NewMessage] = []
        self.targets: dict[tuple[int | None, Priority], Targets] = {}
        self._normalized: dict[str, str | None] = {}
        insert_ = _dialect_insert(session)
        self._insert_customer = insert_(Customer).on_conflict_do_nothing().returning(Customer)
        self._insert_blob = insert_(AttachmentBlob).on_conflict_do_nothing()
        self._insert_participant = insert_(Participant).on_conflict_do_nothing()
        self._claim = (
            insert_(SeenMessage).on_conflict_do_nothing().returning(SeenMessage.dedupe_key)
        )

    def run(self, stored: list[_Stored]) -> list[IngestResult]:
        parsed = [
            item.parsed or parse_incoming(item.content, self.settings, self.own) for item in stored
        ]
        for item, mail in zip(stored, parsed, strict=True):
            item.message_id = mail.message_id[:998] if mail.message_id else None
        self.claim([(dedupe_key(mail), item.id) for item, mail in zip(stored, parsed, strict=True)])
        self.prefetch(parsed)
        contexts = [_Context(self, item, mail) for item, mail in zip(stored, parsed, strict=True)]
        self.create_customers(contexts)
        for context in contexts:
            self.outcomes[context.raw.id] = context.run()
        self.write()
        # Receipts quote the ticket number, which the write has just assigned.
        for item, mail in zip(stored, parsed, strict=True):
            outcome = self.outcomes[item.id]
            if outcome.acknowledge is not None:
                outcome.acknowledgement = _Context(self, item, mail).acknowledgement(outcome)
        self.write()
        results = [self.outcomes[item.id].result(item.id) for item in stored]
        now = utcnow()
        self.session.execute(
            update(RawMessage),
            [
                {
                    "id": item.id,
                    "status": result.status,
                    "status_reason": result.reason,
                    "ticket_id": result.ticket_id,
                    "message_id": item.message_id,
                    "duplicate_of_id": self.outcomes[item.id].duplicate_of_id,
                    "processed_at": now,
                }
                for item, result in zip(stored, results, strict=True)
            ],
        )
        return results

    def flush(self) -> None:
        """The session's flush, with the new tickets' ids assigned first (`assign_ids`)."""
        new, self.new_tickets = [t for t in self.new_tickets if t.id is None], []
        assign_ids(self.session, new)
        self.session.flush()

    def write(self) -> None:
        """Store what the batch has added so far: tickets and their changes, then messages."""
        self.flush()
        if self.replied:
            # Atomic in SQL, so an agent's concurrent change is never undone; one
            # statement for the batch, as the ORM would write one UPDATE per ticket.
            self.session.execute(
                update(Ticket)
                .where(Ticket.id.in_(sorted(t.id for t in self.replied)))
                .values(version=Ticket.version + 1)
            )
            self.replied.clear()
        if self.pending_blobs:
            blobs, self.pending_blobs = self.pending_blobs, []
            self.session.execute(self._insert_blob, blobs)
        pending, self.pending = self.pending, []
        if not pending:
            return
        ids = insert_returning_ids(
            self.session,
            Message,
            [message.values | {"ticket_id": message.ticket.id} for message in pending],
        )
        for message, id_ in zip(pending, ids, strict=True):
            message.id = id_
        attachments = [a | {"message_id": m.id} for m in pending for a in m.attachments]
        if attachments:
            self.session.execute(insert(Attachment), attachments)

    def claim(self, keys: list[tuple[str, int]]) -> None:
        """Enter the batch's dedupe keys in the ledger and learn who holds each one.

        The database decides, so of two processes taking in the same mail at once only
        one gets the key; the first of two copies within the batch holds it for both.
        """
        now = utcnow()
        first: dict[str, int] = {}
        for key, raw_id in keys:
            first.setdefault(key, raw_id)
        # In key order, so that concurrent batches take the keys' locks in the same order.
        rows = [
            {"dedupe_key": key, "raw_message_id": first[key], "seen_at": now}
            for key in sorted(first)
        ]
        claimed = set(self.session.scalars(self._claim, rows))
        self.holders = {key: raw_id for key, raw_id in first.items() if key in claimed}
        taken = [key for key in first if key not in claimed]
        for chunk in chunks(taken):
            rows = self.session.execute(
                select(SeenMessage.dedupe_key, SeenMessage.raw_message_id).where(
                    SeenMessage.dedupe_key.in_(chunk)
                )
            )
            self.holders.update((key, raw_id) for key, raw_id in rows)
        if missing := [key for key in taken if key not in self.holders]:
            raise LookupError(f"dedupe keys neither claimed nor found: {missing}")
        earlier = sorted(set(self.holders.values()) - {raw_id for _, raw_id in keys})
        for chunk in chunks(earlier):
            rows = self.session.execute(
                select(RawMessage.id, RawMessage.ticket_id).where(RawMessage.id.in_(chunk))
            )
            self.raw_tickets.update((raw_id, ticket_id) for raw_id, ticket_id in rows)

    def prefetch(self, parsed: list[ParsedMail]) -> None:
        referenced = {
            mid[:998]
            for mail in parsed
            for mid in (mail.message_id, *mail.in_reply_to, *mail.references)
            if mid
        }
        self.messages.update(dict.fromkeys(referenced))
        for chunk in chunks(sorted(referenced)):
            # The tickets come along: most replies in a batch go to tickets not loaded yet.
            for mid, kind, ticket in self.session.execute(
                select(Message.message_id, Message.kind, Ticket)
                .join(Ticket, Ticket.id == Message.ticket_id)
                .where(Message.message_id.in_(chunk))
            ):
                self.messages[mid] = (ticket, kind)
        tickets = {known[0] for known in self.messages.values() if known is not None}
        waiting = unanswered_since_by_ticket(self.session, [ticket.id for ticket in tickets])
        self.waiting.update((ticket, waiting[ticket.id]) for ticket in tickets)
        senders = {
            email.lower()
            for mail in parsed
            if mail.from_
            and mail.from_.email
            and (email := self.normalize(mail.from_.email.strip())) is not None
        }
        for chunk in chunks(sorted(senders)):
            for customer in self.session.scalars(
                select(Customer).where(func.lower(Customer.email).in_(chunk))
            ):
                self.customers[customer.email.lower()] = customer

    def normalize(self, email: str) -> str | None:
        """The normalized address, or None when it is not one; remembered per batch."""
        if email not in self._normalized:
            try:
                self._normalized[email] = normalize_email(email)
            except InvalidEmail:
                self._normalized[email] = None
        return self._normalized[email]

    def message(self, message_id: str) -> tuple[Ticket | int, MessageKind] | None:
        """The ticket (or its id) and kind of the message with this Message-ID, if any."""
        if message_id not in self.messages:
            self.messages[message_id] = self.session.execute(
                select(Message.ticket_id, Message.kind).where(Message.message_id == message_id)
            ).first()
        return self.messages[message_id]

    def add_message(self, ticket: Ticket, values: dict, attachments: list[dict]) -> _NewMessage:
        message = _NewMessage(ticket, values, attachments)
        self.pending.append(message)
        if values["message_id"]:
            self.messages[values["message_id"]] = (ticket, values["kind"])
        return message

    def customer(self, email: str, name: str) -> Customer:
        """The customer with this address, created with the display name when new.

        Raises InvalidEmail for an address that cannot be a customer's.
        """
        # Not an address when the batch's look-up found none: normalize_email says why.
        normalized = self.normalize(email) or normalize_email(email)
        key = normalized.lower()
        customer = self.customers.get(key)
        if customer is None:
            # The INSERT needs nothing the batch has pending, so it does not flush it.
            with self.session.no_autoflush:
                customer = self.session.scalars(
                    self._insert_customer,
                    [{"email": normalized, "name": normalize_text(name)[:200]}],
                ).first()
            # Nothing inserted: another process created them since the batch looked.
            customer = customer or find_customer(self.session, normalized)
            if customer is None:
                raise LookupError(f"customer {normalized} neither created nor found")
            self.customers[key] = customer
        return customer

    def original_ticket(self, raw_message_id: int) -> tuple[Ticket | None, int | None]:
        """The ticket a raw message went to: (ticket, None) from this batch, else (None, id)."""
        outcome = self.outcomes.get(raw_message_id)
        if outcome is not None:
            return outcome.ticket, outcome.ticket_id
        return None, self.raw_tickets.get(raw_message_id)

    def add_blob(self, sha256: str, size: int, content: bytes) -> None:
        """Attachment bytes once by content hash; a blob stored before (or by a concurrent
        ingest) is the same bytes under the same key."""
        if sha256 not in self.blobs:
            self.pending_blobs.append({"sha256": sha256, "size": size, "content": content})
            self.blobs.add(sha256)

    def add_participant(self, ticket_id: int, email: str, name: str) -> None:
        # A concurrent message on the same ticket may add them first.
        self.session.execute(
            self._insert_participant, [{"ticket_id": ticket_id, "email": email, "name": name}]
        )

    def waiting_since(self, ticket: Ticket) -> datetime | None:
        """When the customer's wait for our answer on this ticket began, if it has."""
        if ticket not in self.waiting:
            # Not loaded by the prefetch: found by a signed Message-ID, the body marker or
            # the subject token.
            self.waiting[ticket] = unanswered_since(self.session, ticket)
        return self.waiting[ticket]

    def customer_wrote(self, ticket: Ticket, at: datetime) -> None:
        """Customer mail added to the ticket: it starts the wait unless one runs already
        (a ticket opened in this batch has nothing stored to ask about)."""
        if ticket.id is None or self.waiting_since(ticket) is None:
            self.waiting[ticket] = at

    def create_customers(self, contexts: list[_Context]) -> None:
        """Create the customers that the batch's customer mail needs in one INSERT.

        A guess made before the rules run, from what the mail is; `customer` still
        creates (one at a time) anyone it missed, for instance after a concurrent insert.
        """
        new: dict[str, dict] = {}
        for context in contexts:
            email = self.normalize(context.sender) if context.is_customer_mail() else None
            if email is None or email.lower() in self.customers:
                continue
            name = normalize_text(context.parsed.from_.name or "")[:200]
            new.setdefault(email.lower(), {"email": email, "name": name})
        if not new:
            return
        with self.session.no_autoflush:
            for customer in self.session.scalars(self._insert_customer, list(new.values())):
                self.customers[customer.email.lower()] = customer

    def first_response_due(self, ticket: Ticket, now: datetime) -> datetime:
        """`sla.due_at` of a ticket whose only message arrived `now`, from the policies
        read once per batch instead of twice per message."""
        mailbox = self.mailboxes.get(ticket.mailbox_id) if ticket.mailbox_id else None
        return add_working_minutes(
            now, self.targets_of(ticket).first_response_minutes, business_hours_of(mailbox)
        )

    def targets_of(self, ticket: Ticket) -> Targets:
        key = (ticket.mailbox_id, ticket.priority)
        if key not in self.targets:
            self.targets[key] = targets_for(self.session, ticket.mailbox_id, ticket.priority)
        return self.targets[key]

    def acknowledgements_sent(self, customer: Customer, since: datetime) -> int:
        """Receipts to this customer since `since`, counting the ones this batch adds."""
        if customer.id not in self.acks_sent:
            self.acks_sent[customer.id] = self.session.scalar(
                select(func.count(Message.id))
                .join(Ticket, Ticket.id == Message.ticket_id)
                .where(
                    Ticket.customer_id == customer.id,
                    Message.kind == MessageKind.acknowledgement,
                    Message.created_at >= since,
                )
            )
        return self.acks_sent[customer.id]


def record_delivery_problem(
    session: Session,
    *,
    raw_message_id: int,
    kind: DeliveryProblemKind,
    recipient: str,
    status_code: str = "",
    diagnostic: str = "",
    original_message_id: str | None = None,
) -> DeliveryProblem:
    """Note that mail to `recipient` bounced or was reported as spam.

    The campaign feature finds its delivery through `original_message_id` (or a VERP
    return path) and suppresses the address; here the problem is tied to the customer.
    """
    customer = find_customer(session, recipient) if recipient else None
    problem = DeliveryProblem(
        raw_message_id=raw_message_id,
        customer_id=customer.id if customer else None,
        recipient=recipient[:320],
        kind=kind,
        status_code=(status_code or "")[:20],
        diagnostic=diagnostic or "",
        original_message_id=original_message_id[:998] if original_message_id else None,
    )
    session.add(problem)
    session.flush()
    return problem


def find_customer(session: Session, email: str) -> Customer | None:
    try:
        normalized = normalize_email(email)
    except InvalidEmail:
        return None
    # The unique index is on lower(email): one person whatever case their client sends.
    return session.scalars(
        select(Customer).where(func.lower(Customer.email) == normalized.lower())
    ).first()


class _Context:
    """One message's way through the rules; each step returns a result or None."""

    def __init__(self, batch: _Batch, raw: _Stored, parsed: ParsedMail):
        self.batch = batch
        self.session = batch.session
        self.raw = raw
        self.parsed = parsed
        self.settings = batch.settings
        self.own = batch.own
        self.now = utcnow()
        self.mailbox = batch.mailboxes.get(raw.mailbox_id) if raw.mailbox_id else None
        self.sender = parsed.from_.email.strip() if parsed.from_ and parsed.from_.email else ""

    def run(self) -> _Outcome:
        return (
            self.claim()
            or self.quarantine()
            or self.drop_own_mail()
            or self.delivery_problem()
            or self.unsubscribe_request()
            or self.auto_reply()
            or self.customer_mail()
        )

    def is_customer_mail(self) -> bool:
        """Whether `run` will reach `customer_mail`, judged without changing anything."""
        return (
            self.parsed.kind == Kind.normal
            and self.claim() is None
            and self.quarantine() is None
            and self.drop_own_mail() is None
            and not any(is_unsubscribe_address(a) for a in self.recipient_addresses())
        )

    def claim(self) -> _Outcome | None:
        key = dedupe_key(self.parsed)
        holder = self.batch.holders[key]
        if holder == self.raw.id:
            # Ours: just claimed, or a quarantined message being processed again.
            return None
        ticket, ticket_id = self.batch.original_ticket(holder)
        return _Outcome(
            RawStatus.duplicate,
            f"already received as raw message {holder} ({key})",
            ticket=ticket,
            ticket_id=ticket_id,
            duplicate_of_id=holder,
        )

    def quarantine(self) -> _Outcome | None:
        reason = self.parsed.quarantine_reason
        if reason:
            return _Outcome(RawStatus.quarantined, reason)
        if self.parsed.kind == Kind.normal and not self.sender:
            return _Outcome(RawStatus.quarantined, "no sender address (From) to answer")
        return None

    def drop_own_mail(self) -> _Outcome | None:
        if self.sender.lower() in self.own:
            return _Outcome(RawStatus.dropped, f"sent from our own address {self.sender}")
        if header(self.parsed, LOOP_HEADER) is not None:
            return _Outcome(RawStatus.dropped, f"carries our {LOOP_HEADER} header")
        known = self.batch.message(self.raw.message_id) if self.raw.message_id else None
        if known is not None and known[1] in (MessageKind.reply, MessageKind.acknowledgement):
            return _Outcome(RawStatus.dropped, "one of our own outgoing messages came back")
        return None

    def delivery_problem(self) -> _Outcome | None:
        parsed = self.parsed
        if parsed.kind == Kind.bounce:
            bounce = parsed.bounce
            kind = (
                DeliveryProblemKind.hard_bounce
                if bounce is not None and bounce.hard
                else DeliveryProblemKind.soft_bounce
            )
            problem = record_delivery_problem(
                self.session,
                raw_message_id=self.raw.id,
                kind=kind,
                recipient=(bounce.recipient or "") if bounce else "",
                status_code=(bounce.status or "") if bounce else "",
                diagnostic=(bounce.diagnostic or "") if bounce else "",
                original_message_id=bounce.original_message_id if bounce else None,
            )
            self.suppress_if_campaign_mail(problem)
            return _Outcome(
                RawStatus.bounce, f"{kind} for {problem.recipient or 'unknown recipient'}"
            )
        if parsed.kind == Kind.complaint:
            problem = record_delivery_problem(
                self.session,
                raw_message_id=self.raw.id,
                kind=DeliveryProblemKind.complaint,
                recipient=parsed.complaint_recipient or "",
                original_message_id=parsed.bounce.original_message_id if parsed.bounce else None,
            )
            self.suppress_if_campaign_mail(problem)
            return _Outcome(
                RawStatus.complaint, f"complaint by {problem.recipient or 'unknown recipient'}"
            )
        return None

    def recipient_addresses(self) -> list[str]:
        """Where this mail was addressed: a VERP bounce or an unsubscribe mailto carries
        its campaign delivery's token in the address."""
        addresses = [a.email for a in self.parsed.to if a.email]
        for name in ("Delivered-To", "X-Original-To"):
            value = header(self.parsed, name)
            if value:
                addresses.append(value.strip().strip("<>"))
        return addresses

    def suppress_if_campaign_mail(self, problem: DeliveryProblem) -> None:
        """Mark the campaign delivery bounced (or complained about) and suppress the
        address when the rules say so; mail that was not a campaign's changes nothing."""
        apply_delivery_problem(
            self.session,
            problem,
            addresses=self.recipient_addresses(),
            soft_bounce_limit=self.settings.soft_bounce_limit,
            now=self.now,
        )

    def unsubscribe_request(self) -> _Outcome | None:
        """Mail to a campaign's List-Unsubscribe mailto address unsubscribes its recipient."""
        for address in self.recipient_addresses():
            delivery_id = unsubscribe_by_address(self.session, address, now=self.now)
            if delivery_id is not None:
                return _Outcome(
                    RawStatus.dropped, f"unsubscribe request for campaign delivery {delivery_id}"
                )
        return None

    def auto_reply(self) -> _Outcome | None:
        if self.parsed.kind != Kind.auto_reply:
            return None
        found = self.find_ticket()
        what = self.parsed.auto_reply_reason or "automatic reply"
        if found is None:
            return _Outcome(RawStatus.auto_reply, f"{what}; no ticket to attach it to")
        ticket, how = found
        # Shown collapsed; it neither reopens the ticket nor counts as the customer's turn.
        message = self.add_message(ticket, MessageKind.auto_reply)
        return _Outcome(
            RawStatus.auto_reply,
            f"{what}; attached to ticket {ticket.id} by {how}",
            ticket=ticket,
            message=message,
        )

    def customer_mail(self) -> _Outcome:
        try:
            customer = self.batch.customer(self.sender, self.parsed.from_.name or "")
        except InvalidEmail as exc:
            return _Outcome(RawStatus.quarantined, f"sender address is not usable: {exc}")
        found = self.find_ticket(customer)
        created = True
        if found is None:
            ticket, reason = self.open_ticket(customer), "new ticket"
        else:
            ticket, how = found
            if ticket.status == TicketStatus.closed and self.closed_policy(ticket) == (
                ClosedReplyPolicy.follow_up
            ):
                ticket = self.open_ticket(customer, follow_up_of=ticket)
                reason = f"follow-up of closed ticket {ticket.follow_up_of_id} (by {how})"
            else:
                reason = f"reply to ticket {ticket.id} by {how}"
                self.take_customer_reply(ticket)
                created = False
        if not created:
            self.reply_sla(ticket)
        message = self.add_message(ticket, MessageKind.customer)
        self.add_participants(ticket, customer)
        acknowledge = created and self.ack_refusal(customer) is None
        if acknowledge:
            self.batch.acks_sent[customer.id] += 1
        return _Outcome(
            RawStatus.ingested,
            reason,
            ticket=ticket,
            message=message,
            created_ticket=created,
            acknowledge=customer if acknowledge else None,
        )

    # -- threading -------------------------------------------------------------------

    def find_ticket(self, customer: Customer | None = None) -> tuple[Ticket, str] | None:
        """The ticket this mail belongs to and how it was found, or None for a new one."""
        parsed = self.parsed
        candidates = [*parsed.in_reply_to, *reversed(parsed.references)]
        for header_name, mid in _labelled(parsed, candidates):
            known = self.batch.message(mid)
            target = known[0] if known else None
            how = f"{header_name} {mid}"
            if target is None:
                target = ticket_id_from_message_id(mid, self.settings.secret_key)
                how = f"signed {header_name} {mid}"
            ticket = self.surviving_ticket(target)
            if ticket is not None:
                return self.persisted(ticket), how
        for body in (parsed.text, parsed.html):
            ticket = self.surviving_ticket(
                ticket_id_from_body(body or "", self.settings.secret_key)
            )
            if ticket is not None:
                return ticket, "reference marker in the body"
        sender = self.sender.lower()
        for match in _SUBJECT_TOKEN.finditer(parsed.subject or ""):
            ticket_id = int(match[1])
            ticket = self.session.get(Ticket, ticket_id) if ticket_id <= MAX_TICKET_ID else None
            # A number in a subject is trivial to guess, so it only counts for people
            # already on that conversation.
            if ticket is not None and self.on_ticket(ticket, sender, customer):
                survivor = self.surviving_ticket(ticket.id)
                if survivor is not None:
                    return survivor, f"subject token [#{ticket_id}]"
        return None

    def on_ticket(self, ticket: Ticket, sender: str, customer: Customer | None) -> bool:
        if customer is not None and ticket.customer_id == customer.id:
            return True
        owner = self.session.get(Customer, ticket.customer_id)
        if owner is not None and owner.email.lower() == sender:
            return True
        return (
            self.session.scalars(
                select(Participant.id).where(
                    Participant.ticket_id == ticket.id, func.lower(Participant.email) == sender
                )
            ).first()
            is not None
        )

    def surviving_ticket(self, ticket: Ticket | int | None) -> Ticket | None:
        """Follow merges to the ticket that lives on."""
        if not isinstance(ticket, Ticket):
            ticket = self.session.get(Ticket, ticket) if ticket else None
        hops = 0
        while ticket is not None and ticket.merged_into_id is not None and hops < _MAX_MERGE_HOPS:
            ticket = self.session.get(Ticket, ticket.merged_into_id)
            hops += 1
        return ticket

    def persisted(self, ticket: Ticket) -> Ticket:
        """The ticket with its id; one opened earlier in this batch may not have it yet."""
        if ticket.id is None:
            self.batch.flush()
        return ticket

    def closed_policy(self, ticket: Ticket) -> ClosedReplyPolicy:
        mailbox = self.batch.mailboxes.get(ticket.mailbox_id) if ticket.mailbox_id else None
        mailbox = mailbox or self.mailbox
        return mailbox.closed_reply_policy if mailbox else ClosedReplyPolicy.reopen

    # -- changes ---------------------------------------------------------------------

    def open_ticket(self, customer: Customer, follow_up_of: Ticket | None = None) -> Ticket:
        mailbox_id = self.raw.mailbox_id or (follow_up_of.mailbox_id if follow_up_of else None)
        ticket = Ticket(
            subject=(self.parsed.subject or "")[:998],
            status=TicketStatus.new,
            priority=Priority.normal,
            mailbox_id=mailbox_id,
            customer_id=customer.id,
            follow_up_of_id=follow_up_of.id if follow_up_of else None,
            created_at=self.now,
            updated_at=self.now,
            last_customer_message_at=self.now,
            customer_replied_last=True,
        )
        # Set before the INSERT rather than updated after it; apply_sla would query the
        # ticket's messages and policies to find what is known here already.
        ticket.response_due_at = self.batch.first_response_due(ticket, self.now)
        ticket.first_response_due_at = ticket.response_due_at
        self.session.add(ticket)
        self.batch.new_tickets.append(ticket)
        mailbox = self.batch.mailboxes.get(mailbox_id) if mailbox_id else None
        if mailbox is not None and mailbox.auto_assign:
            auto_assign(self.session, ticket)
        return ticket

    def take_customer_reply(self, ticket: Ticket) -> None:
        if ticket.status in (TicketStatus.resolved, TicketStatus.closed, TicketStatus.waiting):
            # The customer wrote again, so it is our turn; the assignee stays.
            previous = ticket.status
            ticket.status = TicketStatus.open
            ticket.resolved_at = None
            ticket.closed_at = None
            if previous != TicketStatus.waiting:
                self.session.add(
                    Message(
                        ticket_id=ticket.id,
                        kind=MessageKind.event,
                        body_text=f"Reopened by a customer reply (was {previous}).",
                        created_at=self.now,
                    )
                )
        ticket.last_customer_message_at = self.now
        ticket.customer_replied_last = True
        ticket.updated_at = self.now
        self.batch.replied.add(ticket)

    def reply_sla(self, ticket: Ticket) -> None:
        """The due time after a customer's reply: from the first customer message not
        answered yet, stored or earlier in this batch, else this one."""
        waiting_since = self.batch.waiting_since(ticket) or self.now
        with self.session.no_autoflush:
            apply_sla(self.session, ticket, self.now, self.batch.targets_of(ticket), waiting_since)

    def add_message(self, ticket: Ticket, kind: MessageKind) -> _NewMessage:
        parsed = self.parsed
        # Blobs first: their rows must exist before the attachments that point at them.
        for part in parsed.attachments:
            if not part.too_large:
                self.batch.add_blob(part.sha256, part.size, part.content)
        if kind == MessageKind.customer:
            self.batch.customer_wrote(ticket, self.now)
        return self.batch.add_message(
            ticket,
            {
                "kind": kind,
                "raw_message_id": self.raw.id,
                "message_id": self.raw.message_id,
                "in_reply_to": parsed.in_reply_to[0][:998] if parsed.in_reply_to else None,
                "references": list(parsed.references),
                "from_email": self.sender[:320],
                "from_name": normalize_text(parsed.from_.name if parsed.from_ else "")[:200],
                "to": [a.email for a in parsed.to],
                "cc": [a.email for a in parsed.cc],
                "subject": (parsed.subject or "")[:998],
                "body_text": parsed.text or "",
                "body_reply": parsed.text_reply or "",
                "body_html_safe": parsed.html_safe,
                "send_status": None,
                "created_at": self.now,
            },
            [_attachment(part) for part in parsed.attachments],
        )

    def add_participants(self, ticket: Ticket, customer: Customer) -> None:
        """The sender (when not the ticket's customer) and Cc'd people join the conversation.

        Not To: it holds our own aliases, which forwarding setups make unknowable.
        """
        people = [(self.sender, self.parsed.from_.name or "")]
        people += [(a.email, a.name or "") for a in self.parsed.cc]
        owner = customer if ticket.customer_id == customer.id else None
        owner = owner or self.session.get(Customer, ticket.customer_id)
        known = {*self.own, owner.email.lower()}
        new = []
        for email, name in people:
            email = self.batch.normalize(email)
            if email is None or email.lower() in known:
                continue
            known.add(email.lower())
            new.append((email, name))
        if not new:
            # The common case, the customer writing alone, costs no query.
            return
        self.persisted(ticket)
        existing = {
            email.lower()
            for email in self.session.scalars(
                select(Participant.email).where(Participant.ticket_id == ticket.id)
            )
        }
        for email, name in new:
            if email.lower() not in existing:
                self.batch.add_participant(ticket.id, email, normalize_text(name)[:200])

    # -- acknowledgement -------------------------------------------------------------

    def acknowledgement(self, outcome: _Outcome) -> _NewMessage:
        """The receipt for a new ticket, once the batch's write has given it its number."""
        ticket, customer, message = outcome.ticket, outcome.acknowledge, outcome.message
        mailbox = self.mailbox
        secret = self.settings.secret_key
        subject = f"Re: {ticket.subject or '(no subject)'} [#{ticket.id}]"
        text = (
            f"Hello{' ' + customer.name if customer.name else ''},\n\n"
            f"we received your message and opened ticket #{ticket.id} for it."
            " We will answer as soon as we can.\n\n"
            f"To add to this request, reply to this email and keep [#{ticket.id}]"
            " in the subject.\n\n"
            f"{make_body_marker(ticket.id, secret)}\n"
        )
        references = [*self.parsed.references, self.raw.message_id] if self.raw.message_id else []
        return self.batch.add_message(
            ticket,
            {
                "kind": MessageKind.acknowledgement,
                "raw_message_id": None,
                "message_id": make_message_id(ticket.id, secret, self.settings.domain),
                "in_reply_to": message.values["message_id"],
                "references": [r[:998] for r in references],
                "from_email": mailbox.address,
                "from_name": mailbox.name[:200],
                "to": [customer.email],
                "cc": [],
                "subject": subject[:998],
                "body_text": text,
                "body_reply": text,
                "body_html_safe": None,
                "send_status": SendStatus.queued,
                "created_at": self.now,
            },
            [],
        )

    def ack_refusal(self, customer: Customer) -> str | None:
        """Why no acknowledgement goes out, or None when one should."""
        mailbox = self.mailbox
        if mailbox is None or not mailbox.send_acknowledgement:
            return "mailbox does not acknowledge"
        if self.parsed.kind != Kind.normal:
            return "automatic mail"
        if header(self.parsed, "List-Id") is not None:
            return "mailing list"
        if (header(self.parsed, "Precedence") or "").strip().lower() in _BULK_PRECEDENCE:
            return "bulk mail"
        local_part = self.sender.rpartition("@")[0]
        if _UNATTENDED_LOCAL_PART.match(local_part) or self.sender.lower() in self.own:
            return "unattended address"
        date, start = self.parsed.date, mailbox.start_date
        if start is not None and date is not None and date < start:
            return "mail from before the mailbox start date"
        sent = self.batch.acknowledgements_sent(customer, self.now - self.settings.ack_window)
        if sent >= self.settings.ack_limit:
            return "acknowledgement rate limit reached"
        return None


def _attachment(part) -> dict:
    return {
        "blob_sha256": None if part.too_large else part.sha256,
        "filename": (part.filename or "attachment")[:255],
        "content_type": (part.content_type or "application/octet-stream")[:255],
        "size": part.size,
        "content_id": part.content_id[:255] if part.content_id else None,
        "inline": bool(part.inline),
        "too_large": bool(part.too_large),
    }


def _labelled(parsed: ParsedMail, candidates: list[str]):
    in_reply_to = set(parsed.in_reply_to)
    seen: set[str] = set()
    for mid in candidates:
        if mid and mid not in seen:
            seen.add(mid)
            yield ("In-Reply-To" if mid in in_reply_to else "References"), mid[:998]


def header(parsed: ParsedMail, name: str) -> str | None:
    """A top-level header's value by case-insensitive name, or None when absent."""
    wanted = name.lower()
    for key, value in (parsed.headers or {}).items():
        if key.lower() == wanted:
            if isinstance(value, list | tuple):
                return str(value[0]) if value else None
            return str(value)
    return None
