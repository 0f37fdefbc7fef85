"""Bulk actions on the queue list: assign, close or tag many tickets at once, all or
nothing, each change recorded in its ticket's conversation.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from helpdesk.auth.models import Role, User
from helpdesk.faq.service import record_resolution
from helpdesk.input_bounds import bounded_int
from helpdesk.normalize import normalize_text
from helpdesk.tickets.events import record_bulk_ticket_events
from helpdesk.tickets.models import Message, MessageKind, Ticket, TicketStatus, ticket_tags
from helpdesk.tickets.queues import QueueError

MAX_BULK = 500


class BulkAction(enum.StrEnum):
    assign = "assign"
    close = "close"
    tag = "tag"


@dataclass(frozen=True)
class BulkResult:
    action: BulkAction
    changed: int
    skipped: int = 0
    detail: str = ""
    ticket_ids: list[int] = field(default_factory=list)


def parse_ticket_ids(raw: Sequence[str]) -> list[int]:
    """Ticket ids from a form; anything that is not a plain id is refused, not dropped."""
    if not raw:
        raise QueueError(_l("Select at least one ticket."))
    if len(raw) > MAX_BULK:
        raise QueueError(_l("Select at most %(n)d tickets at once.", n=MAX_BULK))
    ids = []
    for value in raw:
        value = (value or "").strip()
        ticket_id = bounded_int(value)
        if ticket_id is None:
            raise QueueError(
                _l("“%(value)s” is not a ticket number. Nothing was changed.", value=value[:20])
            )
        ids.append(ticket_id)
    return sorted(set(ids))


def _clean_tag(raw: str) -> str:
    name = normalize_text(raw or "").strip().lower()
    if not name:
        raise QueueError(_l("Enter a tag."))
    if len(name) > 64:
        raise QueueError(_l("A tag has at most 64 characters."))
    return name


def bulk_update(
    session: Session,
    actor_id: int,
    raw_ids: Sequence[str],
    action: str,
    *,
    assignee_id: str | int | None = None,
    tag: str = "",
    now: datetime,
) -> BulkResult:
    """Assign, close or tag many tickets; all or nothing. Does not commit."""
    try:
        action = BulkAction(action)
    except ValueError:
        raise QueueError(_l("Choose what to do with the selected tickets.")) from None
    ids = parse_ticket_ids(raw_ids)
    found = set(session.scalars(select(Ticket.id).where(Ticket.id.in_(ids))))
    missing = [i for i in ids if i not in found]
    if missing:
        listed = ", ".join(f"#{i}" for i in missing[:5])
        raise QueueError(
            _l("These tickets do not exist: %(ids)s. Nothing was changed.", ids=listed)
        )
    match action:
        case BulkAction.assign:
            return _bulk_assign(session, actor_id, ids, assignee_id, now)
        case BulkAction.close:
            return _bulk_close(session, actor_id, ids, now)
        case BulkAction.tag:
            return _bulk_tag(session, ids, _clean_tag(tag), now)


def _event(session: Session, ticket_id: int, actor_id: int, body: str, now: datetime) -> None:
    session.add(
        Message(
            ticket_id=ticket_id,
            kind=MessageKind.event,
            author_id=actor_id,
            body_text=body,
            created_at=now,
        )
    )


def _bulk_assign(session, actor_id, ids, raw_assignee, now) -> BulkResult:
    if raw_assignee in (None, ""):
        raise QueueError(_l("Choose an agent to assign the tickets to."))
    assignee_id = bounded_int(raw_assignee, minimum=1)
    agent = session.get(User, assignee_id) if assignee_id is not None else None
    if agent is None or not agent.is_active or agent.role not in (Role.agent, Role.admin):
        raise QueueError(
            _l("This agent does not exist or cannot take tickets. Nothing was changed.")
        )
    changing = list(
        session.scalars(
            select(Ticket.id).where(
                Ticket.id.in_(ids),
                Ticket.merged_into_id.is_(None),
                Ticket.assignee_id.is_distinct_from(agent.id),
            )
        )
    )
    if changing:
        session.execute(
            update(Ticket)
            .where(Ticket.id.in_(changing))
            .values(assignee_id=agent.id, updated_at=now, version=Ticket.version + 1)
            .execution_options(synchronize_session=False)
        )
        for ticket_id in changing:
            _event(session, ticket_id, actor_id, f"Assigned to {agent.name} (bulk action).", now)
        record_bulk_ticket_events(
            session, "ticket.assigned", changing, assignee_id=agent.id, actor_id=actor_id
        )
    session.expire_all()
    return BulkResult(
        BulkAction.assign, len(changing), len(ids) - len(changing), agent.name, changing
    )


def _bulk_close(session, actor_id, ids, now) -> BulkResult:
    changing = list(
        session.scalars(
            select(Ticket.id).where(Ticket.id.in_(ids), Ticket.status != TicketStatus.closed)
        )
    )
    if changing:
        session.execute(
            update(Ticket)
            .where(Ticket.id.in_(changing))
            .values(
                status=TicketStatus.closed,
                closed_at=now,
                response_due_at=None,
                updated_at=now,
                version=Ticket.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        for ticket_id in changing:
            _event(session, ticket_id, actor_id, "Closed (bulk action).", now)
            record_resolution(session, ticket_id)
        record_bulk_ticket_events(
            session, "ticket.status_changed", changing, status=str(TicketStatus.closed)
        )
    session.expire_all()
    return BulkResult(BulkAction.close, len(changing), len(ids) - len(changing), "", changing)


def _bulk_tag(session, ids, name, now) -> BulkResult:
    from helpdesk.customers.service import tags_named

    tag = tags_named(session, [name])[0]
    tagged = set(
        session.scalars(
            select(ticket_tags.c.ticket_id).where(
                ticket_tags.c.tag_id == tag.id, ticket_tags.c.ticket_id.in_(ids)
            )
        )
    )
    changing = [i for i in ids if i not in tagged]
    if changing:
        session.execute(
            ticket_tags.insert(), [{"ticket_id": i, "tag_id": tag.id} for i in changing]
        )
        session.execute(
            update(Ticket)
            .where(Ticket.id.in_(changing))
            .values(updated_at=now, version=Ticket.version + 1)
            .execution_options(synchronize_session=False)
        )
    session.expire_all()
    return BulkResult(BulkAction.tag, len(changing), len(ids) - len(changing), name, changing)
