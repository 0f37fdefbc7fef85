"""What agents change on one ticket (who holds it, its status, priority and tags), and
what every ticket action shares: the refusals, looking a ticket up and locking its row,
events in the conversation, the agents.

Rules that must hold with several agents at once hold in the database. Assignment is a
conditional UPDATE with a row count check; the other changes lock the ticket row first.
Notes (`notes`), replies (`replies`), merges (`merging`) and the ticket page (`display`)
build on these functions.

Functions flush and leave the commit to the caller. Messages are lazy strings: they show
in the viewer's language on a page and in English in jobs and logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from helpdesk.auth.models import Role, User
from helpdesk.customers import service as customer_service
from helpdesk.db import utcnow
from helpdesk.faq.service import record_resolution
from helpdesk.normalize import normalize_tags
from helpdesk.notifications import service as notifications
from helpdesk.notifications.models import NotificationKind
from helpdesk.text import lazy_ngettext
from helpdesk.text import lazy_text as _l
from helpdesk.tickets import sla
from helpdesk.tickets.events import record_ticket_event
from helpdesk.tickets.models import (
    DONE_STATUSES,
    Message,
    MessageKind,
    Priority,
    Ticket,
    TicketStatus,
)

SUPPORT_ROLES = (Role.admin, Role.agent)
MAX_BODY = 100_000
MAX_TAGS = 20


# --- errors --------------------------------------------------------------------------


class TicketActionError(ValueError):
    """A refused action; ``message`` is what the agent is shown."""

    def __init__(self, message: object):
        self.message = message
        super().__init__(str(message))


class TicketNotFound(TicketActionError):
    pass


class InvalidInput(TicketActionError):
    """Bad input; ``field`` names the form field it belongs to, when there is one."""

    def __init__(self, message: object, field: str | None = None):
        self.field = field
        super().__init__(message)


class UnknownAgent(InvalidInput):
    pass


class TicketMerged(TicketActionError):
    def __init__(self, ticket: Ticket):
        self.ticket_id = ticket.id
        self.merged_into_id = ticket.merged_into_id
        super().__init__(
            _l(
                "Ticket #%(id)d was merged into #%(into)d; work on that ticket instead.",
                id=ticket.id,
                into=ticket.merged_into_id,
            )
        )


class AlreadyAssigned(TicketActionError):
    def __init__(self, holder: User | None):
        self.holder = holder
        if holder is None:
            message = _l("Someone else changed the assignment meanwhile: it is now unassigned.")
        else:
            message = _l("This ticket was already taken by %(name)s.", name=holder.name)
        super().__init__(message)


class ReplyConflict(TicketActionError):
    """Newer messages exist than the agent saw; nothing was sent."""

    def __init__(self, new_messages: list[Message], latest_message_id: int):
        self.new_messages = new_messages
        # Plain ids stay usable after the rollback that follows a refusal.
        self.new_message_ids = [m.id for m in new_messages]
        self.latest_message_id = latest_message_id
        super().__init__(
            lazy_ngettext(
                "Not sent: %(num)d new message arrived while you were writing. "
                "Read it, then send your reply as it is or edit it.",
                "Not sent: %(num)d new messages arrived while you were writing. "
                "Read them, then send your reply as it is or edit it.",
                len(new_messages),
            )
        )


class MergeRefused(InvalidInput):
    pass


class AttachmentNotFound(TicketActionError):
    pass


# --- small helpers -------------------------------------------------------------------


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise TicketNotFound(_l("Ticket #%(id)d does not exist.", id=ticket_id))
    return ticket


def _lock_tickets(session: Session, ticket_ids: Sequence[int]) -> dict[int, Ticket]:
    """Row locks in id order, so two merges of the same pair cannot deadlock."""
    rows = session.scalars(
        select(Ticket)
        .where(Ticket.id.in_(sorted(set(ticket_ids))))
        .order_by(Ticket.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found = {t.id: t for t in rows}
    for ticket_id in ticket_ids:
        if ticket_id not in found:
            raise TicketNotFound(_l("Ticket #%(id)d does not exist.", id=ticket_id))
    return found


def _lock_ticket(session: Session, ticket_id: int) -> Ticket:
    return _lock_tickets(session, [ticket_id])[ticket_id]


def _refuse_merged(ticket: Ticket) -> None:
    if ticket.merged_into_id is not None:
        raise TicketMerged(ticket)


def _changed(ticket: Ticket, now: datetime) -> None:
    # In SQL, so a concurrent change by ingest or another agent is never lost.
    ticket.version = Ticket.version + 1
    ticket.updated_at = now


def _event(session: Session, ticket_id: int, text: str, actor_id: int | None, now) -> Message:
    event = Message(
        ticket_id=ticket_id,
        kind=MessageKind.event,
        body_text=text,
        author_id=actor_id,
        created_at=now,
    )
    session.add(event)
    return event


def _agent(session: Session, agent_id: int | None) -> User:
    user = session.get(User, agent_id) if agent_id else None
    if user is None or not user.is_active or user.role not in SUPPORT_ROLES:
        raise UnknownAgent(_l("There is no active agent with that id."), field="agent_id")
    return user


def support_agents(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.is_active, User.role.in_(SUPPORT_ROLES))
            .order_by(User.name, User.id)
        )
    )


def user_names(session: Session, user_ids: Sequence[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.name).where(User.id.in_(user_ids)))
    return {user_id: name for user_id, name in rows}


def parse_status(value: str | None) -> TicketStatus:
    try:
        return TicketStatus((value or "").strip())
    except ValueError:
        raise InvalidInput(
            _l("%(value)r is not a ticket status.", value=value or ""), field="status"
        ) from None


def parse_priority(value: str | None) -> Priority:
    try:
        return Priority((value or "").strip())
    except ValueError:
        raise InvalidInput(
            _l("%(value)r is not a priority.", value=value or ""), field="priority"
        ) from None


def _clean_body(body: str | None, field_name: str, empty_message) -> str:
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput(empty_message, field=field_name)
    if len(text) > MAX_BODY:
        raise InvalidInput(
            _l("The text is too long (at most %(n)d characters).", n=MAX_BODY), field=field_name
        )
    return text


# --- assignment ----------------------------------------------------------------------


def assign_ticket(
    session: Session,
    ticket_id: int,
    agent_id: int | None,
    *,
    actor_id: int,
    expected_assignee_id: int | None,
) -> Ticket:
    """Give the ticket to `agent_id` (None: unassign) if it is still held by whom the
    actor saw holding it (`expected_assignee_id`, None: unassigned).

    Two agents taking the same unassigned ticket at once both send
    ``UPDATE ... WHERE assignee_id IS NULL``; the database lets one of them match.
    """
    actor = _agent(session, actor_id)
    agent = _agent(session, agent_id) if agent_id is not None else None
    ticket = get_ticket(session, ticket_id)
    _refuse_merged(ticket)
    now = utcnow()
    held_as_seen = (
        Ticket.assignee_id.is_(None)
        if expected_assignee_id is None
        else Ticket.assignee_id == expected_assignee_id
    )
    taken = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, held_as_seen)
        .values(assignee_id=agent_id, version=Ticket.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(ticket)
    if not taken:
        if ticket.assignee_id == agent_id:
            return ticket  # a double click, or both picked the same agent: nothing to do
        holder = session.get(User, ticket.assignee_id) if ticket.assignee_id else None
        raise AlreadyAssigned(holder)
    if agent is None:
        text = f"Unassigned by {actor.name}."
    elif agent.id == actor.id:
        text = f"Taken by {actor.name}."
    else:
        text = f"Assigned to {agent.name} by {actor.name}."
    _event(session, ticket_id, text, actor.id, now)
    if agent is not None:
        notifications.notify(
            session,
            NotificationKind.assigned,
            ticket_id=ticket_id,
            title=ticket.subject,
            user_ids=[agent.id],
            actor_id=actor.id,
        )
    record_ticket_event(session, "ticket.assigned", ticket, actor_id=actor.id)
    session.flush()
    return ticket


# --- status, priority, tags ----------------------------------------------------------


def _apply_status(ticket: Ticket, status: TicketStatus, now: datetime) -> None:
    ticket.status = status
    if status == TicketStatus.resolved:
        ticket.resolved_at = ticket.resolved_at or now
        ticket.closed_at = None
    elif status == TicketStatus.closed:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    else:
        ticket.resolved_at = None
        ticket.closed_at = None


def _credit_faq_if_done(session: Session, ticket: Ticket) -> None:
    """FAQ articles inserted into a ticket's replies count the tickets they helped solve."""
    if ticket.status in DONE_STATUSES:
        record_resolution(session, ticket.id)


def set_status(session: Session, ticket_id: int, status: str, *, actor_id: int) -> Ticket:
    new_status = parse_status(status)
    actor = _agent(session, actor_id)
    ticket = _lock_ticket(session, ticket_id)
    _refuse_merged(ticket)
    if ticket.status == new_status:
        return ticket
    now = utcnow()
    previous = ticket.status
    _apply_status(ticket, new_status, now)
    _credit_faq_if_done(session, ticket)
    sla.apply_sla(session, ticket, now)
    _changed(ticket, now)
    _event(session, ticket.id, f"Status {previous} → {new_status} by {actor.name}.", actor.id, now)
    record_ticket_event(session, "ticket.status_changed", ticket, previous_status=str(previous))
    session.flush()
    return ticket


def reopen_done_ticket(session: Session, ticket_id: int, reason: str) -> bool:
    """Reopen a resolved or closed ticket for something the customer did (not an agent);
    `reason` is the line the conversation shows. False when it is not done or merged."""
    ticket = _lock_ticket(session, ticket_id)
    if ticket.merged_into_id is not None or ticket.status not in DONE_STATUSES:
        return False
    now = utcnow()
    previous = ticket.status
    _apply_status(ticket, TicketStatus.open, now)
    sla.apply_sla(session, ticket, now)
    _changed(ticket, now)
    _event(session, ticket.id, reason, None, now)
    record_ticket_event(session, "ticket.status_changed", ticket, previous_status=str(previous))
    session.flush()
    return True


def set_priority(session: Session, ticket_id: int, priority: str, *, actor_id: int) -> Ticket:
    new_priority = parse_priority(priority)
    actor = _agent(session, actor_id)
    ticket = _lock_ticket(session, ticket_id)
    _refuse_merged(ticket)
    if ticket.priority == new_priority:
        return ticket
    now = utcnow()
    previous = ticket.priority
    ticket.priority = new_priority
    sla.apply_sla(session, ticket, now)
    _changed(ticket, now)
    _event(
        session, ticket.id, f"Priority {previous} → {new_priority} by {actor.name}.", actor.id, now
    )
    session.flush()
    return ticket


def set_tags(session: Session, ticket_id: int, tags: str, *, actor_id: int) -> Ticket:
    names = normalize_tags(tags or "")
    if len(names) > MAX_TAGS:
        raise InvalidInput(_l("At most %(n)d tags per ticket.", n=MAX_TAGS), field="tags")
    _agent(session, actor_id)
    ticket = _lock_ticket(session, ticket_id)
    _refuse_merged(ticket)
    ticket.tags = customer_service.tags_named(session, names)
    _changed(ticket, utcnow())
    session.flush()
    return ticket
