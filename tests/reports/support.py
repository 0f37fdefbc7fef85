"""Seeding helpers for the dashboard tests: tickets and messages at fixed UTC times."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from helpdesk.mail.models import Mailbox
from helpdesk.reports import periods
from helpdesk.tickets.models import Message, MessageKind, Priority
from helpdesk.tickets.sla import add_working_minutes, business_hours_of, targets_for
from tests.factories import make_ticket

SEOUL = periods.user_zone("Asia/Seoul")
NEW_YORK = periods.user_zone("America/New_York")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def scope(first: date, last: date, zone=SEOUL, mailbox_id: int | None = None) -> periods.Scope:
    return periods.Scope(periods.DateRange(first, last, zone), mailbox_id)


def first_response_due(session, created_at: datetime, mailbox_id, priority) -> datetime:
    """The due time ingest gives a ticket opened at `created_at`."""
    mailbox = session.get(Mailbox, mailbox_id) if mailbox_id else None
    target = targets_for(session, mailbox_id, Priority(priority)).first_response_minutes
    return add_working_minutes(created_at, target, business_hours_of(mailbox))


def ticket(session, created_at: datetime, *, n: int = 0, **values):
    """A ticket created at `created_at`; `first_response`/`resolved` are minutes after it.
    Its first response is due as ingest would have set it."""
    values.setdefault(
        "first_response_due_at",
        first_response_due(
            session, created_at, values.get("mailbox_id"), values.get("priority", "normal")
        ),
    )
    first = values.pop("first_response", None)
    resolved = values.pop("resolved", None)
    if first is not None:
        values["first_response_at"] = created_at + minutes(first)
    if resolved is not None:
        values["resolved_at"] = created_at + minutes(resolved)
        values.setdefault("status", "resolved")
    return make_ticket(
        session,
        customer_email=f"customer{n}@example.com",
        created_at=created_at,
        updated_at=created_at,
        **values,
    )


def reply(session, ticket_, author, at: datetime, kind=MessageKind.reply) -> Message:
    message = Message(
        ticket_id=ticket_.id, kind=kind, author_id=author.id, body_text="Answer", created_at=at
    )
    session.add(message)
    session.commit()
    return message
