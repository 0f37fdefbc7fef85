"""Raw mail to tickets: store, dedupe, classify, thread or open a ticket, acknowledge.

Every transport (IMAP poller, SMTP gateway, contact form) hands raw RFC 5322 bytes to
`ingest_message`. The bytes are committed first, so nothing is lost whatever happens
next; every raw row then ends as a ticket message, a threaded auto-reply, a recorded
bounce or complaint, a duplicate, a dropped loop, or a quarantined message with its reason.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from helpdesk.config import Config
from helpdesk.customers.models import Customer
from helpdesk.customers.normalize import InvalidEmail, normalize_email, normalize_text
from helpdesk.db import utcnow
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
from helpdesk.mail.outbound import mail_domain
from helpdesk.mail.parse import Kind, ParsedMail, parse_message
from helpdesk.tickets.assignment import auto_assign
from helpdesk.tickets.models import (
    Attachment,
    AttachmentBlob,
    Message,
    MessageKind,
    Participant,
    SendStatus,
    Ticket,
    TicketStatus,
)
from helpdesk.tickets.sla import apply_sla
from helpdesk.tickets.threading import (
    MAX_TICKET_ID,
    make_body_marker,
    make_message_id,
    ticket_id_from_body,
    ticket_id_from_message_id,
)

log = logging.getLogger(__name__)

LOOP_HEADER = "X-Helpdesk-Loop"
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

    @classmethod
    def from_config(cls, config: Config, **overrides) -> IngestSettings:
        return cls(secret_key=config.secret_key, domain=mail_domain(config.public_url), **overrides)


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
    row = store_raw(session, raw, source=source, mailbox_id=mailbox_id, imap_uid=imap_uid)
    session.commit()
    return _ingest_committed(session, row.id, settings)


def reprocess_quarantined(
    session: Session, raw_message_id: int, settings: IngestSettings
) -> IngestResult:
    """Run a quarantined message through ingest again (after a parser fix or an outage)."""
    row = session.get(RawMessage, raw_message_id)
    if row is None:
        raise RawMessageNotFound(f"raw message {raw_message_id} does not exist")
    if row.status != RawStatus.quarantined:
        raise NotQuarantined(f"raw message {raw_message_id} is {row.status}, not quarantined")
    row.status = RawStatus.received
    row.status_reason = ""
    row.processed_at = None
    session.flush()
    return _ingest_committed(session, raw_message_id, settings)


def _ingest_committed(session: Session, raw_message_id: int, settings: IngestSettings):
    try:
        result = ingest_raw_message(session, raw_message_id, settings)
        session.commit()
        return result
    except Exception as exc:
        # The poller must go on to the next message, and this one must not vanish:
        # everything it did is rolled back and the stored bytes wait in quarantine.
        log.exception("ingest of raw message %s failed", raw_message_id)
        session.rollback()
        reason = f"ingest failed: {type(exc).__name__}: {exc}"[:2000]
        row = session.get(RawMessage, raw_message_id)
        row.status = RawStatus.quarantined
        row.status_reason = reason
        row.processed_at = utcnow()
        session.commit()
        return IngestResult(raw_message_id, RawStatus.quarantined, reason=reason)


def ingest_raw_message(
    session: Session, raw_message_id: int, settings: IngestSettings
) -> IngestResult:
    """Decide what one stored message becomes. Flushes; the caller commits."""
    raw = session.get(RawMessage, raw_message_id)
    if raw is None:
        raise RawMessageNotFound(f"raw message {raw_message_id} does not exist")
    if raw.status != RawStatus.received:
        return IngestResult(raw.id, raw.status, ticket_id=raw.ticket_id, reason="already processed")
    own = own_addresses(session, settings)
    parsed = parse_message(
        raw.content,
        max_attachment_bytes=settings.max_attachment_bytes,
        own_addresses=own,
        loop_header=LOOP_HEADER,
    )
    raw.message_id = parsed.message_id[:998] if parsed.message_id else None
    context = _Context(session, raw, parsed, settings, own)
    result = context.run()
    raw.status = result.status
    raw.status_reason = result.reason
    raw.ticket_id = result.ticket_id
    raw.processed_at = utcnow()
    session.flush()
    return result


def own_addresses(session: Session, settings: IngestSettings) -> frozenset[str]:
    """Every address we send from, lower-cased: mail from them is our own coming back."""
    mailbox_addresses = session.scalars(select(Mailbox.address)).all()
    return frozenset(a.lower() for a in (*mailbox_addresses, *settings.own_addresses))


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


def find_or_create_customer(session: Session, email: str, name: str = "") -> Customer:
    """The customer with this address, created with the display name when new.

    Raises InvalidEmail for an address that cannot be a customer's.
    """
    normalized = normalize_email(email)
    customer = find_customer(session, normalized)
    if customer is not None:
        return customer
    try:
        with session.begin_nested():
            customer = Customer(email=normalized, name=normalize_text(name)[:200])
            session.add(customer)
    except IntegrityError:
        # Another process created them between our look-up and insert.
        customer = find_customer(session, normalized)
        if customer is None:
            raise
    return customer


class _Context:
    """One message's way through the rules; each step returns a result or None."""

    def __init__(
        self,
        session: Session,
        raw: RawMessage,
        parsed: ParsedMail,
        settings: IngestSettings,
        own: frozenset[str],
    ):
        self.session = session
        self.raw = raw
        self.parsed = parsed
        self.settings = settings
        self.own = own
        self.now = utcnow()
        self.mailbox = session.get(Mailbox, raw.mailbox_id) if raw.mailbox_id else None
        self.sender = parsed.from_.email.strip() if parsed.from_ and parsed.from_.email else ""

    def result(self, status: RawStatus, reason: str, **fields) -> IngestResult:
        return IngestResult(self.raw.id, status, reason=reason, **fields)

    def run(self) -> IngestResult:
        return (
            self.claim()
            or self.quarantine()
            or self.drop_own_mail()
            or self.delivery_problem()
            or self.auto_reply()
            or self.customer_mail()
        )

    def claim(self) -> IngestResult | None:
        key = dedupe_key(self.parsed)
        try:
            with self.session.begin_nested():
                self.session.add(SeenMessage(dedupe_key=key, raw_message_id=self.raw.id))
        except IntegrityError:
            seen = self.session.get(SeenMessage, key)
            if seen is None:
                raise
            if seen.raw_message_id == self.raw.id:
                # Ours already: a quarantined message being processed again.
                return None
            self.raw.duplicate_of_id = seen.raw_message_id
            original = self.session.get(RawMessage, seen.raw_message_id)
            return self.result(
                RawStatus.duplicate,
                f"already received as raw message {seen.raw_message_id} ({key})",
                ticket_id=original.ticket_id if original else None,
            )
        return None

    def quarantine(self) -> IngestResult | None:
        reason = self.parsed.quarantine_reason
        if reason:
            return self.result(RawStatus.quarantined, reason)
        if self.parsed.kind == Kind.normal and not self.sender:
            return self.result(RawStatus.quarantined, "no sender address (From) to answer")
        return None

    def drop_own_mail(self) -> IngestResult | None:
        if self.sender.lower() in self.own:
            return self.result(RawStatus.dropped, f"sent from our own address {self.sender}")
        if header(self.parsed, LOOP_HEADER) is not None:
            return self.result(RawStatus.dropped, f"carries our {LOOP_HEADER} header")
        if (
            self.parsed.message_id
            and self.session.scalars(
                select(Message.id).where(
                    Message.message_id == self.parsed.message_id,
                    Message.kind.in_((MessageKind.reply, MessageKind.acknowledgement)),
                )
            ).first()
        ):
            return self.result(RawStatus.dropped, "one of our own outgoing messages came back")
        return None

    def delivery_problem(self) -> IngestResult | None:
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
            return self.result(
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
            return self.result(
                RawStatus.complaint, f"complaint by {problem.recipient or 'unknown recipient'}"
            )
        return None

    def auto_reply(self) -> IngestResult | None:
        if self.parsed.kind != Kind.auto_reply:
            return None
        found = self.find_ticket()
        what = self.parsed.auto_reply_reason or "automatic reply"
        if found is None:
            return self.result(RawStatus.auto_reply, f"{what}; no ticket to attach it to")
        ticket, how = found
        # Shown collapsed; it neither reopens the ticket nor counts as the customer's turn.
        message = self.add_message(ticket, MessageKind.auto_reply)
        return self.result(
            RawStatus.auto_reply,
            f"{what}; attached to ticket {ticket.id} by {how}",
            ticket_id=ticket.id,
            message_id=message.id,
        )

    def customer_mail(self) -> IngestResult:
        try:
            customer = find_or_create_customer(
                self.session, self.sender, self.parsed.from_.name or ""
            )
        except InvalidEmail as exc:
            return self.result(RawStatus.quarantined, f"sender address is not usable: {exc}")
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
        if created:
            ticket.last_customer_message_at = self.now
        message = self.add_message(ticket, MessageKind.customer)
        apply_sla(self.session, ticket, self.now)
        self.add_participants(ticket)
        ack = self.acknowledge(ticket, customer, message) if created else None
        return self.result(
            RawStatus.ingested,
            reason,
            ticket_id=ticket.id,
            message_id=message.id,
            created_ticket=created,
            acknowledgement_id=ack.id if ack else None,
        )

    # -- threading -------------------------------------------------------------------

    def find_ticket(self, customer: Customer | None = None) -> tuple[Ticket, str] | None:
        """The ticket this mail belongs to and how it was found, or None for a new one."""
        parsed = self.parsed
        candidates = [*parsed.in_reply_to, *reversed(parsed.references)]
        for header_name, mid in _labelled(parsed, candidates):
            ticket_id = self.session.scalars(
                select(Message.ticket_id).where(Message.message_id == mid)
            ).first()
            how = f"{header_name} {mid}"
            if ticket_id is None:
                ticket_id = ticket_id_from_message_id(mid, self.settings.secret_key)
                how = f"signed {header_name} {mid}"
            ticket = self.surviving_ticket(ticket_id)
            if ticket is not None:
                return ticket, how
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

    def surviving_ticket(self, ticket_id: int | None) -> Ticket | None:
        """Follow merges to the ticket that lives on."""
        ticket = self.session.get(Ticket, ticket_id) if ticket_id else None
        hops = 0
        while ticket is not None and ticket.merged_into_id is not None and hops < _MAX_MERGE_HOPS:
            ticket = self.session.get(Ticket, ticket.merged_into_id)
            hops += 1
        return ticket

    def closed_policy(self, ticket: Ticket) -> ClosedReplyPolicy:
        mailbox = self.session.get(Mailbox, ticket.mailbox_id) if ticket.mailbox_id else None
        mailbox = mailbox or self.mailbox
        return mailbox.closed_reply_policy if mailbox else ClosedReplyPolicy.reopen

    # -- changes ---------------------------------------------------------------------

    def open_ticket(self, customer: Customer, follow_up_of: Ticket | None = None) -> Ticket:
        mailbox_id = self.raw.mailbox_id or (follow_up_of.mailbox_id if follow_up_of else None)
        ticket = Ticket(
            subject=(self.parsed.subject or "")[:998],
            status=TicketStatus.new,
            mailbox_id=mailbox_id,
            customer_id=customer.id,
            follow_up_of_id=follow_up_of.id if follow_up_of else None,
            created_at=self.now,
            updated_at=self.now,
        )
        self.session.add(ticket)
        self.session.flush()
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
        # Atomic in SQL, so an agent's concurrent change is never undone.
        ticket.version = Ticket.version + 1

    def add_message(self, ticket: Ticket, kind: MessageKind) -> Message:
        parsed = self.parsed
        message = Message(
            ticket_id=ticket.id,
            kind=kind,
            raw_message_id=self.raw.id,
            message_id=self.raw.message_id,
            in_reply_to=parsed.in_reply_to[0][:998] if parsed.in_reply_to else None,
            references=list(parsed.references),
            from_email=self.sender[:320],
            from_name=normalize_text(parsed.from_.name if parsed.from_ else "")[:200],
            to=[a.email for a in parsed.to],
            cc=[a.email for a in parsed.cc],
            subject=(parsed.subject or "")[:998],
            body_text=parsed.text or "",
            body_reply=parsed.text_reply or "",
            body_html_safe=parsed.html_safe,
            created_at=self.now,
        )
        self.session.add(message)
        self.session.flush()
        for part in parsed.attachments:
            self.add_attachment(message, part)
        return message

    def add_attachment(self, message: Message, part) -> None:
        blob_sha = None
        if not part.too_large:
            blob_sha = part.sha256
            if self.session.get(AttachmentBlob, blob_sha) is None:
                try:
                    with self.session.begin_nested():
                        self.session.add(
                            AttachmentBlob(sha256=blob_sha, size=part.size, content=part.content)
                        )
                except IntegrityError:
                    pass  # stored meanwhile by a concurrent ingest: same bytes, same key
        self.session.add(
            Attachment(
                message_id=message.id,
                blob_sha256=blob_sha,
                filename=(part.filename or "attachment")[:255],
                content_type=(part.content_type or "application/octet-stream")[:255],
                size=part.size,
                content_id=part.content_id[:255] if part.content_id else None,
                inline=bool(part.inline),
                too_large=bool(part.too_large),
            )
        )
        self.session.flush()

    def add_participants(self, ticket: Ticket) -> None:
        """The sender (when not the ticket's customer) and Cc'd people join the conversation.

        Not To: it holds our own aliases, which forwarding setups make unknowable.
        """
        people = [(self.sender, self.parsed.from_.name or "")]
        people += [(a.email, a.name or "") for a in self.parsed.cc]
        known = set(self.own)
        known |= {
            email.lower()
            for email in self.session.scalars(
                select(Participant.email).where(Participant.ticket_id == ticket.id)
            )
        }
        owner = self.session.get(Customer, ticket.customer_id)
        known.add(owner.email.lower())
        for email, name in people:
            try:
                email = normalize_email(email)
            except InvalidEmail:
                continue
            if email.lower() in known:
                continue
            known.add(email.lower())
            try:
                with self.session.begin_nested():
                    self.session.add(
                        Participant(
                            ticket_id=ticket.id, email=email, name=normalize_text(name)[:200]
                        )
                    )
            except IntegrityError:
                pass  # added by a concurrent message on the same ticket

    # -- acknowledgement -------------------------------------------------------------

    def acknowledge(self, ticket: Ticket, customer: Customer, message: Message) -> Message | None:
        if self.ack_refusal(customer) is not None:
            return None
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
        ack = Message(
            ticket_id=ticket.id,
            kind=MessageKind.acknowledgement,
            message_id=make_message_id(ticket.id, secret, self.settings.domain),
            in_reply_to=message.message_id,
            references=[r[:998] for r in references],
            from_email=mailbox.address,
            from_name=mailbox.name[:200],
            to=[customer.email],
            subject=subject[:998],
            body_text=text,
            body_reply=text,
            send_status=SendStatus.queued,
            created_at=self.now,
        )
        self.session.add(ack)
        self.session.flush()
        return ack

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
        since = self.now - self.settings.ack_window
        sent = self.session.scalar(
            select(func.count(Message.id))
            .join(Ticket, Ticket.id == Message.ticket_id)
            .where(
                Ticket.customer_id == customer.id,
                Message.kind == MessageKind.acknowledgement,
                Message.created_at >= since,
            )
        )
        if sent >= self.settings.ack_limit:
            return "acknowledgement rate limit reached"
        return None


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
