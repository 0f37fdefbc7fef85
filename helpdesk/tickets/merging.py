"""Likely duplicate tickets of one customer, and merging one ticket into another.

Functions flush and leave the commit to the caller.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import SequenceMatcher

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from helpdesk.customers.models import Customer
from helpdesk.db import utcnow
from helpdesk.mail.models import RawMessage
from helpdesk.text import lazy_text as _l
from helpdesk.tickets import sla
from helpdesk.tickets.models import (
    DONE_STATUSES,
    Mention,
    Message,
    MessageKind,
    Participant,
    Ticket,
    TicketMerge,
    TicketStatus,
)
from helpdesk.tickets.replies import _SUBJECT_TOKEN
from helpdesk.tickets.service import (
    MergeRefused,
    _agent,
    _apply_status,
    _changed,
    _event,
    _lock_tickets,
    get_ticket,
)

DUPLICATE_WINDOW = timedelta(days=14)
SIMILAR_SUBJECT = 0.85
SIMILAR_TEXT = 0.9
_COMPARED_TEXT = 2000
_SUBJECT_PREFIX = re.compile(
    r"^\s*(re|fw|fwd|aw|wg|sv|vs|tr|답장|회신|전달)\s*(\[\d+\])?\s*[:：]\s*", re.IGNORECASE
)


def normalize_subject(subject: str) -> str:
    """The subject without Re:/Fwd: prefixes (any depth), [#n] references and case."""
    text = _SUBJECT_TOKEN.sub(" ", subject or "")
    previous = None
    while previous != text:
        previous = text
        text = _SUBJECT_PREFIX.sub("", text)
    return " ".join(text.split()).casefold()


def _normalize_text(text: str) -> str:
    return " ".join((text or "").split()).casefold()


def _body_hash(text: str) -> str | None:
    normalized = _normalize_text(text)
    return hashlib.sha256(normalized.encode()).hexdigest() if normalized else None


@dataclass(frozen=True)
class DuplicateCandidate:
    """A likely duplicate; merging keeps the older ticket (`target_id`)."""

    ticket: Ticket
    reasons: list[object]
    source_id: int
    target_id: int


def _first_customer_texts(session: Session, ticket_ids: Sequence[int]) -> dict[int, list[str]]:
    texts: dict[int, list[str]] = {}
    rows = session.execute(
        select(Message.ticket_id, Message.body_text)
        .where(Message.ticket_id.in_(ticket_ids), Message.kind == MessageKind.customer)
        .order_by(Message.created_at, Message.id)
    )
    for ticket_id, body in rows:
        texts.setdefault(ticket_id, []).append(body or "")
    return texts


def find_duplicates(session: Session, ticket_id: int, limit: int = 10) -> list[DuplicateCandidate]:
    """Open tickets of the same customer within 14 days that look like the same request:
    a similar subject, a similar first message, or the very same mail text received
    twice (a resend under a new Message-ID)."""
    ticket = get_ticket(session, ticket_id)
    if ticket.merged_into_id is not None:
        return []
    others = list(
        session.scalars(
            select(Ticket)
            .where(
                Ticket.customer_id == ticket.customer_id,
                Ticket.id != ticket.id,
                Ticket.merged_into_id.is_(None),
                Ticket.status.not_in(DONE_STATUSES),
                Ticket.created_at >= ticket.created_at - DUPLICATE_WINDOW,
                Ticket.created_at <= ticket.created_at + DUPLICATE_WINDOW,
            )
            .order_by(Ticket.created_at.desc())
            .limit(50)
        )
    )
    if not others:
        return []
    texts = _first_customer_texts(session, [ticket.id, *(t.id for t in others)])
    own_texts = texts.get(ticket.id, [])
    own_hashes = {h for h in map(_body_hash, own_texts) if h}
    own_first = _normalize_text(own_texts[0])[:_COMPARED_TEXT] if own_texts else ""
    own_subject = normalize_subject(ticket.subject)
    found = []
    for other in others:
        reasons: list[object] = []
        other_texts = texts.get(other.id, [])
        if own_hashes & {h for h in map(_body_hash, other_texts) if h}:
            reasons.append(_l("the same message text was received twice"))
        subject = normalize_subject(other.subject)
        if (
            own_subject
            and subject
            and (
                subject == own_subject
                or SequenceMatcher(None, own_subject, subject).ratio() >= SIMILAR_SUBJECT
            )
        ):
            reasons.append(_l("similar subject"))
        if not reasons and own_first and other_texts:
            first = _normalize_text(other_texts[0])[:_COMPARED_TEXT]
            if first and SequenceMatcher(None, own_first, first).ratio() >= SIMILAR_TEXT:
                reasons.append(_l("similar text"))
        if reasons:
            older, newer = sorted((ticket.id, other.id))
            found.append(DuplicateCandidate(other, reasons, source_id=newer, target_id=older))
    return found[:limit]


def _earliest(*times: datetime | None) -> datetime | None:
    return min((t for t in times if t is not None), default=None)


def merge_tickets(session: Session, source_id: int, target_id: int, agent_id: int) -> Ticket:
    """Move everything of `source` into `target` and close `source` pointing at it.

    Later mail threads into the survivor: its messages now carry the Message-IDs the
    customer answers to, and ingest follows merged_into_id for our signed references.
    The merge is recorded (`TicketMerge`) with what it moved, so `undo_merge` can put it
    back for a few minutes.
    """
    if source_id == target_id:
        raise MergeRefused(_l("A ticket cannot be merged into itself."), field="target_id")
    agent = _agent(session, agent_id)
    tickets = _lock_tickets(session, [source_id, target_id])
    source, target = tickets[source_id], tickets[target_id]
    _check_mergeable(source, target)
    now = utcnow()
    record = TicketMerge(
        source_id=source.id,
        target_id=target.id,
        merged_by_id=agent.id,
        merged_at=now,
        source_before=snapshot(source),
        target_before=snapshot(target),
    )
    moved = {"messages": _ids_on(session, Message, source.id)}
    for key, model in (("mentions", Mention), ("raw_messages", RawMessage)):
        moved[key] = _ids_on(session, model, source.id)
    for model in (Message, Mention, RawMessage):
        session.execute(
            update(model)
            .where(model.ticket_id == source.id)
            .values(ticket_id=target.id)
            .execution_options(synchronize_session=False)
        )
    moved["participants"] = [p.id for p in _merge_participants(session, source, target)]
    own_tags = {tag.id for tag in target.tags}
    moved["tags"] = sorted({tag.id for tag in source.tags} - own_tags)
    target.tags = list({tag.id: tag for tag in [*target.tags, *source.tags]}.values())

    latest = [t for t in (source.last_customer_message_at, target.last_customer_message_at) if t]
    target.last_customer_message_at = max(latest) if latest else None
    newest_id, newest_kind = newest_turn(session, target.id)
    target.customer_replied_last = newest_kind != MessageKind.reply
    if (
        newest_kind == MessageKind.customer
        and newest_id in moved["messages"]
        and target.status in _AWAITING_CUSTOMER
    ):
        # The customer wrote last, in the merged-in ticket: it is our turn again.
        _apply_status(target, TicketStatus.open, now)
    target.first_response_at = _earliest(source.first_response_at, target.first_response_at)
    # The conversation's first answer was due when the earlier of the two was.
    target.first_response_due_at = _earliest(
        source.first_response_due_at, target.first_response_due_at
    )
    sla.apply_sla(session, target, now)
    _changed(target, now)
    _event(
        session,
        target.id,
        f"Ticket #{source.id} merged into this one by {agent.name}.",
        agent.id,
        now,
    )

    source.merged_into_id = target.id
    _apply_status(source, TicketStatus.closed, now)
    sla.apply_sla(session, source, now)
    _changed(source, now)
    _event(session, source.id, f"Merged into ticket #{target.id} by {agent.name}.", agent.id, now)
    moved["target_status"] = target.status.value
    record.moved = moved
    session.add(record)
    session.flush()
    session.expire(target, ["messages"])
    session.expire(source, ["messages"])
    return target


# A merged-in customer message newer than anything on these makes them our turn again.
_AWAITING_CUSTOMER = (TicketStatus.waiting, TicketStatus.resolved)

# The fields a merge changes on either ticket, which undoing it puts back.
SNAPSHOT_FIELDS = (
    "status",
    "resolved_at",
    "closed_at",
    "response_due_at",
    "first_response_due_at",
    "first_response_at",
    "last_customer_message_at",
    "customer_replied_last",
)


def snapshot(ticket: Ticket) -> dict:
    """The ticket's SNAPSHOT_FIELDS as JSON values (enum values, ISO times)."""
    values = {}
    for name in SNAPSHOT_FIELDS:
        value = getattr(ticket, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, TicketStatus):
            value = value.value
        values[name] = value
    return values


def _check_mergeable(source: Ticket, target: Ticket) -> None:
    if source.merged_into_id is not None:
        raise MergeRefused(
            _l(
                "Ticket #%(id)d was already merged into #%(into)d.",
                id=source.id,
                into=source.merged_into_id,
            )
        )
    if target.merged_into_id is not None:
        raise MergeRefused(
            _l(
                "Ticket #%(id)d was itself merged into #%(into)d; merge into that one instead.",
                id=target.id,
                into=target.merged_into_id,
            ),
            field="target_id",
        )


def _ids_on(session: Session, model, ticket_id: int) -> list[int]:
    return list(session.scalars(select(model.id).where(model.ticket_id == ticket_id)))


def newest_turn(session: Session, ticket_id: int) -> tuple[int | None, MessageKind | None]:
    """The newest customer message or reply on the ticket: its id and kind."""
    row = session.execute(
        select(Message.id, Message.kind)
        .where(
            Message.ticket_id == ticket_id,
            Message.kind.in_((MessageKind.customer, MessageKind.reply)),
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    ).first()
    return (row.id, row.kind) if row else (None, None)


def _merge_participants(session: Session, source: Ticket, target: Ticket) -> list[Participant]:
    """Adds the source's people the target lacks as its participants; returns them."""
    known = {
        email.lower()
        for email in session.scalars(
            select(Participant.email).where(Participant.ticket_id == target.id)
        )
    }
    target_customer = session.get(Customer, target.customer_id)
    known.add(target_customer.email.lower())
    people = [
        (p.email, p.name)
        for p in session.scalars(select(Participant).where(Participant.ticket_id == source.id))
    ]
    if source.customer_id != target.customer_id:
        source_customer = session.get(Customer, source.customer_id)
        people.insert(0, (source_customer.email, source_customer.name))
    added = []
    for email, name in people:
        if email.lower() not in known:
            known.add(email.lower())
            added.append(Participant(ticket_id=target.id, email=email, name=name or ""))
    session.add_all(added)
    session.flush()
    return added
