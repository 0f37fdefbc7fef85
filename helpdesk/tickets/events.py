"""What tickets tell the event stream: one payload shape for every ticket event."""

from __future__ import annotations

from sqlalchemy.orm import Session

from helpdesk.events.service import Subject, record_event, record_events
from helpdesk.tickets.models import Message, Ticket


def ticket_data(ticket: Ticket) -> dict:
    return {
        "ticket_id": ticket.id,
        "customer_id": ticket.customer_id,
        "subject": ticket.subject,
        "status": str(ticket.status),
        "priority": str(ticket.priority),
        "assignee_id": ticket.assignee_id,
    }


def record_ticket_event(
    session: Session, type: str, ticket: Ticket, message: Message | None = None, **extra
) -> None:
    payload = ticket_data(ticket) | extra
    if message is not None:
        payload["message_id"] = message.id
    record_event(session, type, Subject("ticket", ticket.id), payload)


def record_bulk_ticket_events(session: Session, type: str, ticket_ids: list[int], **extra) -> None:
    """One event per ticket of a bulk action, in one INSERT."""
    record_events(
        session,
        type,
        [
            (Subject("ticket", ticket_id), {"ticket_id": ticket_id, **extra})
            for ticket_id in ticket_ids
        ],
    )
