"""Tickets an agent starts: a first mail to a customer (or a new address) sent from a
mailbox, or a phone call or visit logged as a ticket without any mail.

The mail is stored as a queued outgoing reply with one of our signed Message-IDs, so it
leaves through the one outbound path (the caller commits, then queues
helpdesk.tickets.jobs.send_ticket_message) and the customer's answer threads into this
ticket like an answer to any reply. Functions flush and leave the commit to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from helpdesk.customers import service as customer_service
from helpdesk.customers.models import Customer
from helpdesk.db import utcnow
from helpdesk.mail.models import Mailbox
from helpdesk.normalize import InvalidEmail, normalize_email
from helpdesk.text import lazy_text as _l
from helpdesk.tickets import sla
from helpdesk.tickets.models import (
    Message,
    MessageKind,
    SendStatus,
    Ticket,
    TicketChannel,
    TicketStatus,
)
from helpdesk.tickets.replies import MailSettings
from helpdesk.tickets.service import InvalidInput, _agent, _clean_body
from helpdesk.tickets.threading import make_body_marker, make_message_id

MAX_SUBJECT = 200
# Channels an agent can start a ticket on (the contact form is the customer's).
STARTABLE_CHANNELS = (TicketChannel.email, TicketChannel.phone, TicketChannel.visit)


@dataclass(frozen=True)
class NewTicket:
    channel: str
    to: str  # the customer's address
    name: str  # used only when the address is new
    subject: str
    body: str
    mailbox_id: int | None = None


@dataclass(frozen=True)
class StartedTicket:
    ticket: Ticket
    # The queued first mail, for the caller to hand to the send job; None for a call/visit.
    outgoing: Message | None


def _channel(value: str) -> TicketChannel:
    try:
        channel = TicketChannel((value or "").strip())
    except ValueError:
        channel = None
    if channel not in STARTABLE_CHANNELS:
        raise InvalidInput(_l("Choose how the conversation takes place."), field="channel")
    return channel


def _subject(value: str) -> str:
    subject = " ".join((value or "").split())
    if not subject:
        raise InvalidInput(_l("Give the ticket a subject."), field="subject")
    if len(subject) > MAX_SUBJECT:
        raise InvalidInput(
            _l("The subject is too long (at most %(n)d characters).", n=MAX_SUBJECT),
            field="subject",
        )
    return subject


def _address(value: str) -> str:
    try:
        return normalize_email(value or "")
    except InvalidEmail:
        raise InvalidInput(
            _l("%(address)r is not an email address.", address=(value or "").strip()), field="to"
        ) from None


def _mailbox(session: Session, mailbox_id: int | None) -> Mailbox:
    mailbox = session.get(Mailbox, mailbox_id) if mailbox_id else None
    if mailbox is None or not mailbox.is_active:
        raise InvalidInput(_l("Choose a mailbox to send from."), field="mailbox_id")
    return mailbox


def _customer(session: Session, address: str, name: str) -> Customer:
    customer = customer_service.find_customer_by_email(session, address)
    if customer is not None:
        return customer
    try:
        return customer_service.create_customer(
            session, customer_service.CustomerData(email=address, name=(name or "").strip())
        )
    except customer_service.CustomerInvalid as exc:
        message = exc.errors.get("name") or next(iter(exc.errors.values()))
        raise InvalidInput(message, field="name" if "name" in exc.errors else "to") from None


def start_ticket(
    session: Session, agent_id: int, data: NewTicket, *, mail: MailSettings
) -> StartedTicket:
    """Open the ticket, assigned to the agent who starts it. By mail it waits on the
    customer; a logged call or visit is open, the agent's note holding what was said."""
    agent = _agent(session, agent_id)
    channel = _channel(data.channel)
    address = _address(data.to)
    subject = _subject(data.subject)
    text = _clean_body(data.body, "body", _l("Write the message first."))
    mailbox = _mailbox(session, data.mailbox_id) if channel == TicketChannel.email else None
    customer = _customer(session, address, data.name)

    now = utcnow()
    by_mail = channel == TicketChannel.email
    ticket = Ticket(
        subject=subject,
        status=TicketStatus.waiting if by_mail else TicketStatus.open,
        channel=channel,
        mailbox_id=mailbox.id if mailbox else None,
        customer_id=customer.id,
        assignee_id=agent.id,
        created_at=now,
        updated_at=now,
        customer_replied_last=not by_mail,
        last_customer_message_at=None if by_mail else now,
        last_agent_reply_at=now if by_mail else None,
    )
    session.add(ticket)
    session.flush()
    if by_mail:
        message = Message(
            ticket_id=ticket.id,
            kind=MessageKind.reply,
            message_id=make_message_id(ticket.id, mail.secret_key, mail.domain),
            author_id=agent.id,
            from_email=mailbox.address,
            from_name=mailbox.name[:200],
            to=[customer.email],
            subject=f"{subject} [#{ticket.id}]",
            body_text=f"{text}\n\n{make_body_marker(ticket.id, mail.secret_key)}\n",
            body_reply=text,
            send_status=SendStatus.queued,
            created_at=now,
        )
    else:
        message = Message(
            ticket_id=ticket.id,
            kind=MessageKind.note,
            author_id=agent.id,
            body_text=text,
            created_at=now,
        )
    session.add(message)
    sla.apply_sla(session, ticket, now)
    session.flush()
    return StartedTicket(ticket, message if by_mail else None)
