"""The "Still need help?" form: a customer's message becomes mail and goes through ingest.

Building a real RFC 5322 message and handing it to `ingest_message` means the form gets
every rule mail gets (customer matched or created, duplicates recognized, raw bytes kept)
without a second code path. The Message-ID is derived from a token the form page carries
and the content, and the mail has no Date, so a double-submitted form is recognized as a
duplicate by ingest.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from email.headerregistry import Address

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from helpdesk.config import Config
from helpdesk.customers.models import Customer
from helpdesk.db import utcnow
from helpdesk.faq.service import InvalidInput, RateLimited, RateLimiter
from helpdesk.inbound.incoming import IngestSettings, own_addresses
from helpdesk.inbound.ingest import ingest_message
from helpdesk.mail import outbound
from helpdesk.mail.addresses import writable_sender
from helpdesk.mail.models import Mailbox, RawSource, RawStatus
from helpdesk.normalize import InvalidEmail, normalize_email
from helpdesk.text import lazy_text as _l
from helpdesk.tickets.models import Message, MessageKind, SendStatus, Ticket, TicketChannel
from helpdesk.tickets.threading import make_body_marker, make_message_id

MAX_NAME = 200
MAX_SUBJECT = 200
MAX_MESSAGE = 5000
PER_IP_PER_HOUR = 5
PER_ADDRESS_PER_HOUR = 3
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

DEFAULT_CONFIRMATION = (
    "Hello %(name)s,\n\n"
    "we received your message and opened ticket %(reference)s for it. "
    "We will answer as soon as we can.\n\n"
    "To add to this request, reply to this email and keep [%(reference)s] in the subject."
)


class ContactInvalid(InvalidInput):
    pass


class ContactNotAccepted(Exception):
    """Ingest did not turn the message into a ticket (the reason says why)."""


@dataclass(frozen=True)
class ContactRequest:
    name: str
    email: str
    subject: str
    message: str
    form_token: str
    honeypot: str = ""


@dataclass(frozen=True)
class ContactResult:
    ticket_id: int | None = None
    acknowledgement_id: int | None = None
    duplicate: bool = False
    discarded: bool = False
    created_ticket: bool = False
    notification_mail: bool = False  # agents' notification mail waits to be queued

    @property
    def reference(self) -> str:
        return f"#{self.ticket_id}" if self.ticket_id else ""


def contact_address(session: Session, config: Config) -> tuple[Mailbox | None, str]:
    """Where form messages are addressed: the first active mailbox, else support@<host>."""
    mailbox = session.scalars(
        select(Mailbox).where(Mailbox.is_active.is_(True)).order_by(Mailbox.id).limit(1)
    ).first()
    if mailbox is not None:
        return mailbox, mailbox.address
    return None, f"support@{config.effective_mail_domain}"


def _clean(session: Session, request: ContactRequest, config: Config) -> tuple[str, ...]:
    errors: dict[str, object] = {}
    name = " ".join((request.name or "").split())
    subject = " ".join((request.subject or "").split())
    text = (request.message or "").replace("\r\n", "\n").strip()
    email = ""
    try:
        email = normalize_email(request.email)
    except InvalidEmail:
        errors["email"] = (
            _l("Enter your email address so we can answer you.")
            if not (request.email or "").strip()
            else _l("This does not look like an email address, e.g. name@example.com.")
        )
    if email and email.lower() in own_addresses(session, IngestSettings.from_config(config)):
        errors["email"] = _l("Enter your own email address.")
    if len(name) > MAX_NAME:
        errors["name"] = _l("At most %(n)d characters.", n=MAX_NAME)
    elif email and not writable_sender(name, email):
        errors["name"] = _l("This name cannot be used in an email. Leave out unusual characters.")
    if not subject:
        errors["subject"] = _l("Tell us in a few words what it is about.")
    elif len(subject) > MAX_SUBJECT:
        errors["subject"] = _l("At most %(n)d characters.", n=MAX_SUBJECT)
    if not text:
        errors["message"] = _l("Write your question.")
    elif len(text) > MAX_MESSAGE:
        errors["message"] = _l("At most %(n)d characters.", n=MAX_MESSAGE)
    if errors:
        raise ContactInvalid(errors)
    return name, email, subject, text


def build_contact_mail(
    request_values: tuple[str, str, str, str], to_address: str, form_token: str, domain: str
) -> bytes:
    name, email, subject, text = request_values
    digest = hashlib.sha256(
        "\x00".join((form_token, email.lower(), subject, text)).encode()
    ).hexdigest()[:32]
    message = outbound.build_message(
        Address(display_name=name, addr_spec=email),
        to_address,
        subject,
        text,
        message_id=f"<faq-contact.{digest}@{domain}>",
    )
    # Ingest takes a copy with the same Message-ID and sender for the same mail only when
    # the Date matches too; a form sent twice must be one mail, so it carries no Date
    # (the raw message keeps when it arrived).
    del message["Date"]
    return message.as_bytes()


def submit_contact(
    session: Session,
    request: ContactRequest,
    *,
    config: Config,
    limiter: RateLimiter,
    ip: str,
    confirmation_text: str = DEFAULT_CONFIRMATION,
) -> ContactResult:
    """Turn a contact form into a ticket and a queued confirmation; commits (ingest does).

    A filled honeypot is discarded without a word to the bot. Raises ContactInvalid,
    RateLimited, or ContactNotAccepted when ingest would not make a ticket of it.
    """
    if request.honeypot.strip():
        return ContactResult(discarded=True)
    values = _clean(session, request, config)
    email = values[1].lower()
    address_key = hashlib.sha256(email.encode()).hexdigest()[:32]
    if not limiter.allow(f"contact:ip:{ip}", PER_IP_PER_HOUR, 3600) or not limiter.allow(
        f"contact:address:{address_key}", PER_ADDRESS_PER_HOUR, 3600
    ):
        raise RateLimited(ip)
    token = request.form_token if _TOKEN.match(request.form_token or "") else ""
    if not token:
        # Without the page's token there is nothing to recognize a resubmission by.
        token = hashlib.sha256(f"{utcnow().isoformat()}{ip}".encode()).hexdigest()[:32]
    mailbox, to_address = contact_address(session, config)
    settings = IngestSettings.from_config(config)
    raw = build_contact_mail(values, to_address, token, settings.domain)
    result = ingest_message(
        session,
        raw,
        source=RawSource.form,
        settings=settings,
        mailbox_id=mailbox.id if mailbox else None,
    )
    if result.status == RawStatus.duplicate:
        return ContactResult(ticket_id=result.ticket_id, duplicate=True)
    if result.status != RawStatus.ingested:
        raise ContactNotAccepted(result.reason)
    if result.created_ticket:
        from_form = update(Ticket).where(Ticket.id == result.ticket_id)
        session.execute(from_form.values(channel=TicketChannel.web_form))
    ack_id = result.acknowledgement_id
    if ack_id is None and result.created_ticket:
        ack_id = _confirmation(
            session, result.ticket_id, result.message_id, to_address, mailbox, settings,
            confirmation_text,
        ).id  # fmt: skip
    session.commit()
    return ContactResult(
        ticket_id=result.ticket_id,
        acknowledgement_id=ack_id,
        notification_mail=result.notification_mail,
    )


@dataclass(frozen=True)
class OnBehalfRequest:
    """A customer's message that another system hands in (the API's new ticket)."""

    name: str
    email: str
    subject: str
    message: str
    mailbox_id: int | None = None


def submit_on_behalf(
    session: Session, request: OnBehalfRequest, *, config: Config
) -> ContactResult:
    """Take in a customer's message from an integration as mail, like the form does: the
    same checks, customer matching, threading and acknowledgement by ingest, but no
    per-IP limit (the API limits per token) and no form confirmation. Commits (ingest
    does). Raises ContactInvalid, or ContactNotAccepted when ingest makes no ticket of it.
    """
    form = ContactRequest(request.name, request.email, request.subject, request.message, "")
    values = _clean(session, form, config)
    if request.mailbox_id is None:
        mailbox, to_address = contact_address(session, config)
    else:
        mailbox = session.get(Mailbox, request.mailbox_id)
        if mailbox is None or not mailbox.is_active:
            # Only the API names a mailbox; it answers in English.
            raise ContactInvalid({"mailbox_id": "There is no active mailbox with that id."})
        to_address = mailbox.address
    settings = IngestSettings.from_config(config)
    # A fresh token per call: the same text sent twice is two messages. A repeated
    # request is recognized by the API's Idempotency-Key instead.
    raw = build_contact_mail(values, to_address, secrets.token_urlsafe(24), settings.domain)
    result = ingest_message(
        session,
        raw,
        source=RawSource.api,
        settings=settings,
        mailbox_id=mailbox.id if mailbox else None,
    )
    if result.status != RawStatus.ingested:
        raise ContactNotAccepted(result.reason)
    return ContactResult(
        ticket_id=result.ticket_id,
        acknowledgement_id=result.acknowledgement_id,
        created_ticket=result.created_ticket,
        notification_mail=result.notification_mail,
    )


def _confirmation(
    session: Session,
    ticket_id: int,
    message_id: int,
    from_address: str,
    mailbox: Mailbox | None,
    settings: IngestSettings,
    text: str,
) -> Message:
    """The confirmation mail, queued like every outgoing ticket message."""
    ticket = session.get(Ticket, ticket_id)
    customer = session.get(Customer, ticket.customer_id)
    received = session.get(Message, message_id)
    reference = ticket.reference
    body = text % {"name": customer.name or customer.email, "reference": reference}
    body = f"{body}\n\n{make_body_marker(ticket.id, settings.secret_key)}\n"
    ack = Message(
        ticket_id=ticket.id,
        kind=MessageKind.acknowledgement,
        message_id=make_message_id(ticket.id, settings.secret_key, settings.domain),
        in_reply_to=received.message_id,
        references=[received.message_id] if received.message_id else [],
        from_email=from_address,
        from_name=(mailbox.name if mailbox else "Support")[:200],
        to=[customer.email],
        subject=f"Re: {ticket.subject} [{reference}]"[:998],
        body_text=body,
        body_reply=body,
        send_status=SendStatus.queued,
        created_at=utcnow(),
    )
    session.add(ack)
    session.flush()
    return ack
