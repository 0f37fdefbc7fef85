"""Undoing a merge for a few minutes after it: the merged-away ticket gets back what it
brought, and both tickets the fields they had.

Functions flush and leave the commit to the caller.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from helpdesk.db import utcnow
from helpdesk.mail.models import RawMessage
from helpdesk.text import lazy_text as _l
from helpdesk.tickets import sla
from helpdesk.tickets.merging import SNAPSHOT_FIELDS, newest_turn
from helpdesk.tickets.models import (
    Mention,
    Message,
    MessageKind,
    Participant,
    Ticket,
    TicketMerge,
    TicketStatus,
)
from helpdesk.tickets.service import (
    MergeRefused,
    _agent,
    _changed,
    _event,
    _lock_tickets,
)

# Long enough to notice a wrong merge, short enough that little has happened since.
UNDO_WINDOW = timedelta(minutes=10)


def undoable_merge(
    session: Session, ticket_id: int, now: datetime | None = None
) -> TicketMerge | None:
    """The latest merge into or out of this ticket that can still be undone, or None."""
    now = now or utcnow()
    return session.scalars(
        select(TicketMerge)
        .where(
            or_(TicketMerge.target_id == ticket_id, TicketMerge.source_id == ticket_id),
            TicketMerge.undone_at.is_(None),
            TicketMerge.merged_at > now - UNDO_WINDOW,
        )
        .order_by(TicketMerge.merged_at.desc(), TicketMerge.id.desc())
        .limit(1)
    ).first()


def undo_merge(
    session: Session, merge_id: int, agent_id: int, now: datetime | None = None
) -> TicketMerge:
    """Split a merge again: the source gets back its messages, mentions, raw mail and
    fields; the target loses the participants and tags the merge added. Mail that
    arrived in the target since stays there."""
    now = now or utcnow()
    agent = _agent(session, agent_id)
    record = session.get(TicketMerge, merge_id)
    if record is None:
        raise MergeRefused(_l("There is no such merge."))
    tickets = _lock_tickets(session, [record.source_id, record.target_id])
    source, target = tickets[record.source_id], tickets[record.target_id]
    _check_undoable(record, source, target, now)
    moved = record.moved
    for key, model in (("messages", Message), ("mentions", Mention), ("raw_messages", RawMessage)):
        if moved.get(key):
            session.execute(
                update(model)
                .where(model.id.in_(moved[key]), model.ticket_id == target.id)
                .values(ticket_id=source.id)
                .execution_options(synchronize_session=False)
            )
    if moved.get("participants"):
        session.execute(
            delete(Participant)
            .where(Participant.id.in_(moved["participants"]))
            .execution_options(synchronize_session=False)
        )
    added_tags = set(moved.get("tags", []))
    target.tags = [tag for tag in target.tags if tag.id not in added_tags]

    source.merged_into_id = None
    _restore(source, record.source_before, SNAPSHOT_FIELDS)
    # The target keeps a status an agent set since the merge.
    target_fields = ("first_response_at", "first_response_due_at")
    if target.status.value == moved.get("target_status"):
        target_fields += ("status", "resolved_at", "closed_at")
    _restore(target, record.target_before, target_fields)
    session.flush()
    for ticket in (source, target):
        _recount_turns(session, ticket)
        sla.apply_sla(session, ticket, now)
        _changed(ticket, now)
    _event(session, source.id, f"Split from ticket #{target.id} by {agent.name}.", agent.id, now)
    _event(
        session, target.id, f"Merge of ticket #{source.id} undone by {agent.name}.", agent.id, now
    )
    record.undone_at = now
    record.undone_by_id = agent.id
    session.flush()
    session.expire(target, ["messages"])
    session.expire(source, ["messages"])
    return record


def _check_undoable(record: TicketMerge, source: Ticket, target: Ticket, now: datetime) -> None:
    if record.undone_at is not None:
        raise MergeRefused(_l("This merge was already undone."))
    if now - record.merged_at > UNDO_WINDOW:
        raise MergeRefused(
            _l(
                "A merge can only be undone within %(minutes)d minutes.",
                minutes=int(UNDO_WINDOW.total_seconds() // 60),
            )
        )
    if source.merged_into_id != target.id or target.merged_into_id is not None:
        raise MergeRefused(
            _l("Ticket #%(id)d was merged again since; it cannot be split here.", id=target.id)
        )


def _restore(ticket: Ticket, before: dict, fields: tuple[str, ...]) -> None:
    for name in fields:
        value = before.get(name)
        if name == "status":
            value = TicketStatus(value)
        elif isinstance(value, str):
            value = datetime.fromisoformat(value)
        setattr(ticket, name, value)


def _recount_turns(session: Session, ticket: Ticket) -> None:
    """Whose turn it is and when the customer last wrote, from the messages it now has."""
    _, newest_kind = newest_turn(session, ticket.id)
    ticket.customer_replied_last = newest_kind != MessageKind.reply
    ticket.last_customer_message_at = session.scalar(
        select(func.max(Message.created_at)).where(
            Message.ticket_id == ticket.id, Message.kind == MessageKind.customer
        )
    )
