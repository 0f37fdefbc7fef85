"""The customer's tickets on their page and timeline: the list (open first), and every
ticket event (opened, customer message, our reply, status change, resolution, merge),
each linked to its ticket.

Registered with helpdesk.customers when this module is imported (the tickets views
import it), since customers must not import tickets. Every query reads at most `limit`
rows for one customer, through the customer's tickets, so a customer with thousands of
messages costs no more than one with a few.
"""

from __future__ import annotations

import re

from sqlalchemy import and_, case, func, not_, or_, select
from sqlalchemy.orm import Session, aliased

from helpdesk.auth.models import User
from helpdesk.customers.conversations import (
    Conversation,
    Conversations,
    register_conversations,
)
from helpdesk.customers.timeline import (
    Older,
    TimelineEntry,
    older_than,
    register_source,
    shorten,
)
from helpdesk.text import lazy_text as _l
from helpdesk.tickets.models import (
    DONE_STATUSES,
    OPEN_STATUSES,
    Message,
    MessageKind,
    Ticket,
    TicketChannel,
    TicketStatus,
)

# Only the start of a message is shown; the database cuts it, so a long mail is never
# read whole for one line of the timeline.
EXCERPT_LENGTH = 600

STATUS_LABELS = {
    TicketStatus.new: _l("New"),
    TicketStatus.open: _l("Open"),
    TicketStatus.waiting: _l("Waiting on customer"),
    TicketStatus.resolved: _l("Resolved"),
    TicketStatus.closed: _l("Closed"),
}
CHANNEL_LABELS = {
    TicketChannel.email: _l("Email"),
    TicketChannel.web_form: _l("Contact form"),
    TicketChannel.phone: _l("Phone call"),
    TicketChannel.visit: _l("Visit"),
}

# Events are stored as English lines (helpdesk.tickets.service and ingest write them);
# these are the ones that tell the customer's story. Status changes into resolved or
# closed are left to the ticket's own resolution time, so a resolution shows once.
_STATUS_EVENT = re.compile(r"^Status (?P<old>\w+) → (?P<new>\w+) by (?P<actor>.+)\.$")
_REOPEN_EVENT = re.compile(r"^Reopened by a customer reply")
_MERGE_EVENT = re.compile(r"^Ticket #(?P<source>\d+) merged into this one by (?P<actor>.+)\.$")
_STORY_EVENTS = or_(
    and_(
        Message.body_text.like("Status %"),
        *(not_(Message.body_text.like(f"% → {done} by %")) for done in DONE_STATUSES),
    ),
    Message.body_text.like("Reopened by a customer reply%"),
    Message.body_text.like("Ticket #% merged into this one by %"),
)


def ticket_url(ticket_id: int, message_id: int | None = None) -> str:
    return f"/tickets/{ticket_id}" + (f"#message-{message_id}" if message_id else "")


# --- the list on the customer's page ------------------------------------------------------


def _conversations(session: Session, customer_id: int, limit: int) -> Conversations:
    mine = (Ticket.customer_id == customer_id, Ticket.merged_into_id.is_(None))
    assignee = aliased(User)
    rows = session.execute(
        select(
            Ticket.id,
            Ticket.subject,
            Ticket.status,
            Ticket.channel,
            Ticket.updated_at,
            assignee.name,
        )
        .outerjoin(assignee, assignee.id == Ticket.assignee_id)
        .where(*mine)
        .order_by(
            case((Ticket.status.in_(OPEN_STATUSES), 0), else_=1),
            Ticket.updated_at.desc(),
            Ticket.id.desc(),
        )
        .limit(limit)
    ).all()
    total = session.scalar(select(func.count()).select_from(Ticket).where(*mine))
    shown = [
        Conversation(
            id=r.id,
            subject=r.subject,
            status=r.status.value,
            status_label=STATUS_LABELS[r.status],
            is_open=r.status in OPEN_STATUSES,
            channel_label=CHANNEL_LABELS[r.channel],
            assignee_name=r.name,
            last_activity=r.updated_at,
            url=ticket_url(r.id),
        )
        for r in rows
    ]
    return Conversations(shown, total)


# --- the timeline -------------------------------------------------------------------------


def _opened(session: Session, customer_id: int, limit: int, older: Older) -> list[TimelineEntry]:
    rows = session.execute(
        select(Ticket.id, Ticket.subject, Ticket.channel, Ticket.created_at)
        .where(Ticket.customer_id == customer_id, older_than(Ticket.created_at, Ticket.id, older))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    entries = []
    for r in rows:
        if r.channel == TicketChannel.web_form:
            title = _l("Contact form request #%(id)d: %(subject)s", id=r.id, subject=r.subject)
        else:
            title = _l("Ticket #%(id)d opened: %(subject)s", id=r.id, subject=r.subject)
        entries.append(
            TimelineEntry(
                at=r.created_at,
                kind="ticket",
                title=title,
                detail=_l("Channel: %(channel)s", channel=CHANNEL_LABELS[r.channel]),
                url=ticket_url(r.id),
                id=r.id,
            )
        )
    return entries


def _resolved(session: Session, customer_id: int, limit: int, older: Older) -> list[TimelineEntry]:
    # A closed ticket's entry is at its closing, which the keyset must order by too.
    closed = and_(Ticket.status == TicketStatus.closed, Ticket.closed_at.is_not(None))
    at = case((closed, Ticket.closed_at), else_=Ticket.resolved_at)
    rows = session.execute(
        select(Ticket.id, Ticket.subject, Ticket.status, Ticket.resolved_at, Ticket.closed_at)
        .where(
            Ticket.customer_id == customer_id,
            Ticket.resolved_at.is_not(None),
            Ticket.merged_into_id.is_(None),
            older_than(at, Ticket.id, older),
        )
        .order_by(at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    entries = []
    for r in rows:
        if r.status == TicketStatus.closed:
            title = _l("Ticket #%(id)d closed", id=r.id)
        else:
            title = _l("Ticket #%(id)d resolved", id=r.id)
        when = r.closed_at if r.status == TicketStatus.closed and r.closed_at else r.resolved_at
        entries.append(TimelineEntry(when, "ticket", title, r.subject, ticket_url(r.id), r.id))
    return entries


def _event_entry(ticket_id: int, message_id: int, at, text: str) -> TimelineEntry | None:
    url = ticket_url(ticket_id, message_id)
    if match := _STATUS_EVENT.match(text):
        try:
            old, new = TicketStatus(match["old"]), TicketStatus(match["new"])
        except ValueError:
            return None
        title = _l(
            "Ticket #%(id)d: %(old)s → %(new)s",
            id=ticket_id,
            old=STATUS_LABELS[old],
            new=STATUS_LABELS[new],
        )
        by = _l("by %(name)s", name=match["actor"])
        return TimelineEntry(at, "ticket", title, by, url, message_id)
    if _REOPEN_EVENT.match(text):
        title = _l("Ticket #%(id)d reopened by the customer's reply", id=ticket_id)
        return TimelineEntry(at, "ticket", title, url=url, id=message_id)
    if match := _MERGE_EVENT.match(text):
        title = _l("Ticket #%(source)s merged into #%(id)d", source=match["source"], id=ticket_id)
        by = _l("by %(name)s", name=match["actor"])
        return TimelineEntry(at, "ticket", title, by, url, message_id)
    return None


def _events(session: Session, customer_id: int, limit: int, older: Older) -> list[TimelineEntry]:
    rows = session.execute(
        select(Message.id, Message.ticket_id, Message.created_at, Message.body_text)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(
            Ticket.customer_id == customer_id,
            Message.kind == MessageKind.event,
            _STORY_EVENTS,
            older_than(Message.created_at, Message.id, older),
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    )
    entries = (_event_entry(r.ticket_id, r.id, r.created_at, r.body_text) for r in rows)
    return [e for e in entries if e is not None]


def _message_entries(
    session: Session, customer_id: int, limit: int, older: Older
) -> list[TimelineEntry]:
    author = aliased(User)
    text = func.coalesce(func.nullif(Message.body_reply, ""), Message.body_text)
    newest = (Message.created_at.desc(), Message.id.desc())
    # Picked from the (ticket, kind, time) index first, so only `limit` message rows are
    # read, however many the customer has.
    newest_ids = (
        select(Message.id)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(
            Ticket.customer_id == customer_id,
            Message.kind.in_((MessageKind.customer, MessageKind.reply)),
            older_than(Message.created_at, Message.id, older),
        )
        .order_by(*newest)
        .limit(limit)
    )
    rows = session.execute(
        select(
            Message.id,
            Message.ticket_id,
            Message.kind,
            Message.created_at,
            func.substr(text, 1, EXCERPT_LENGTH).label("excerpt"),
            author.name.label("author_name"),
            Ticket.subject,
        )
        .join(Ticket, Ticket.id == Message.ticket_id)
        .outerjoin(author, author.id == Message.author_id)
        .where(Message.id.in_(newest_ids.scalar_subquery()))
        .order_by(*newest)
    )
    entries = []
    for r in rows:
        if r.kind == MessageKind.customer:
            title = _l("Customer wrote on #%(id)d: %(subject)s", id=r.ticket_id, subject=r.subject)
        else:
            title = _l(
                "%(name)s replied on #%(id)d: %(subject)s",
                name=r.author_name or _l("An agent"),
                id=r.ticket_id,
                subject=r.subject,
            )
        entries.append(
            TimelineEntry(
                r.created_at,
                "ticket_message",
                title,
                shorten(r.excerpt or ""),
                ticket_url(r.ticket_id, r.id),
                r.id,
            )
        )
    return entries


register_conversations(_conversations)
register_source("ticket", _opened)
register_source("ticket", _resolved, part="ticket_resolved")
register_source("ticket", _events, part="ticket_event")
register_source("ticket_message", _message_entries)
