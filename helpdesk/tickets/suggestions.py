"""FAQ answers suggested for a ticket: its subject and the customer's latest message,
matched against the published articles (helpdesk.faq.search)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.faq.search import Suggestion, suggest_articles
from helpdesk.faq.service import TicketNotFound
from helpdesk.tickets.models import Message, MessageKind, Ticket


def ticket_text(session: Session, ticket_id: int) -> str:
    """The subject and the customer's latest message: what suggestions are matched against."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise TicketNotFound(ticket_id)
    message = session.scalars(
        select(Message)
        .where(Message.ticket_id == ticket_id, Message.kind == MessageKind.customer)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    ).first()
    body = (message.body_reply or message.body_text) if message else ""
    return f"{ticket.subject}\n{body}"


def suggestions_for_ticket(session: Session, ticket_id: int, limit: int = 3) -> list[Suggestion]:
    return suggest_articles(session, ticket_text(session, ticket_id), limit=limit)
