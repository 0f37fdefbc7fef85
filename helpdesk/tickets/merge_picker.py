"""The tickets an agent may merge a ticket into, for the merge picker: likely duplicates
first, then what matches the typed number, subject or customer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from helpdesk.customers.models import Customer
from helpdesk.input_bounds import bounded_int
from helpdesk.tickets.merging import find_duplicates
from helpdesk.tickets.models import Message, MessageKind, Ticket
from helpdesk.tickets.queue_search import like_pattern
from helpdesk.tickets.service import get_ticket

# Longer text is no subject or address anyone types to find a ticket.
MAX_QUERY = 200


@dataclass(frozen=True)
class MergeOption:
    ticket: Ticket
    customer: Customer
    likely: bool
    reasons: list[object]


def merge_options(session: Session, ticket_id: int, query: str = "", limit: int = 10):
    """Up to `limit` tickets `ticket_id` can be merged into (or merged with), never
    itself nor one merged away: its likely duplicates first, then matches of `query`
    (a ticket number, or words of the subject, customer name or address)."""
    ticket = get_ticket(session, ticket_id)
    query = " ".join(query.split())[:MAX_QUERY]
    options: dict[int, tuple[Ticket, bool, list[object]]] = {}
    for candidate in find_duplicates(session, ticket.id, limit=limit):
        if _matches(candidate.ticket, query):
            options[candidate.ticket.id] = (candidate.ticket, True, candidate.reasons)
    for other in _search(session, ticket, query, limit):
        options.setdefault(other.id, (other, False, []))
    chosen = list(options.values())[:limit]
    customers = {
        c.id: c
        for c in session.scalars(
            select(Customer).where(Customer.id.in_({t.customer_id for t, _, _ in chosen}))
        )
    }
    return [
        MergeOption(t, customers[t.customer_id], likely, reasons) for t, likely, reasons in chosen
    ]


def _number(query: str) -> int | None:
    return bounded_int(query.removeprefix("#"), minimum=1)


def _matches(ticket: Ticket, query: str) -> bool:
    """Whether a likely duplicate still fits what was typed (number or subject words)."""
    if not query:
        return True
    number = _number(query)
    if number is not None:
        return ticket.id == number
    subject = (ticket.subject or "").casefold()
    return all(word in subject for word in query.casefold().split())


def _search(session: Session, ticket: Ticket, query: str, limit: int) -> list[Ticket]:
    eligible = select(Ticket).where(Ticket.id != ticket.id, Ticket.merged_into_id.is_(None))
    if not query:
        # Nothing typed: the customer's other conversations, newest first.
        statement = eligible.where(Ticket.customer_id == ticket.customer_id)
    elif (number := _number(query)) is not None:
        statement = eligible.where(Ticket.id == number)
    else:
        statement = eligible.join(Customer, Customer.id == Ticket.customer_id)
        for word in query.split():
            pattern = like_pattern(word.lower())
            statement = statement.where(
                or_(
                    func.lower(Ticket.subject).like(pattern, escape="\\"),
                    func.lower(Customer.email).like(pattern, escape="\\"),
                    func.lower(Customer.name).like(pattern, escape="\\"),
                )
            )
    return list(session.scalars(statement.order_by(Ticket.updated_at.desc()).limit(limit)))


@dataclass(frozen=True)
class TicketSummary:
    ticket: Ticket
    customer: Customer
    messages: int
    last_customer_text: str


def ticket_summary(session: Session, ticket_id: int) -> TicketSummary:
    """What the merge confirmation shows of one side."""
    ticket = get_ticket(session, ticket_id)
    count = session.scalar(
        select(func.count())
        .select_from(Message)
        .where(Message.ticket_id == ticket.id, Message.kind != MessageKind.event)
    )
    last = session.execute(
        select(Message.body_reply, Message.body_text)
        .where(Message.ticket_id == ticket.id, Message.kind == MessageKind.customer)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    ).first()
    last_text = (last.body_reply or last.body_text or "") if last else ""
    return TicketSummary(ticket, session.get(Customer, ticket.customer_id), count or 0, last_text)
