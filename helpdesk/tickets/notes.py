"""Internal notes on a ticket (never mailed) and the @mentions in them, for each agent's
Mentions page.

Functions flush and leave the commit to the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from helpdesk.auth.models import User
from helpdesk.db import utcnow
from helpdesk.text import lazy_text as _l
from helpdesk.tickets.models import Mention, Message, MessageKind, Ticket
from helpdesk.tickets.service import (
    _agent,
    _changed,
    _clean_body,
    _lock_ticket,
    _refuse_merged,
    support_agents,
)


def _handle_pattern(handle: str) -> re.Pattern[str]:
    # Not after a word character, so the domain of an address in the text ("bob@alex.kr")
    # never mentions anyone.
    return re.compile(r"(?<![\w@.])@" + re.escape(handle.casefold()) + r"(?![\w])")


def mentioned_agents(session: Session, text: str) -> list[User]:
    """Agents named in the text as @Full Name, @FullName, @first-name (when no other
    agent shares it) or @local-part of their email address."""
    if "@" not in text:
        return []
    agents = support_agents(session)
    first_names: dict[str, int] = {}
    for agent in agents:
        first = agent.name.split()[0].casefold() if agent.name.split() else ""
        first_names[first] = first_names.get(first, 0) + 1
    folded = text.casefold()
    found = []
    for agent in agents:
        parts = agent.name.split()
        handles = {agent.email.rpartition("@")[0], agent.name, "".join(parts)}
        if parts and first_names.get(parts[0].casefold()) == 1:
            handles.add(parts[0])
        if any(h.strip() and _handle_pattern(h.strip()).search(folded) for h in handles):
            found.append(agent)
    return found


def add_note(session: Session, ticket_id: int, *, author_id: int, body: str) -> Message:
    """An internal note (never mailed); each @mentioned agent gets a Mention."""
    text = _clean_body(body, "body", _l("Write the note first."))
    author = _agent(session, author_id)
    ticket = _lock_ticket(session, ticket_id)
    _refuse_merged(ticket)
    now = utcnow()
    note = Message(
        ticket_id=ticket.id,
        kind=MessageKind.note,
        author_id=author.id,
        from_name=author.name[:200],
        from_email=author.email[:320],
        body_text=text,
        body_reply=text,
        created_at=now,
    )
    session.add(note)
    session.flush()
    for agent in mentioned_agents(session, text):
        if agent.id != author.id:
            session.add(Mention(message_id=note.id, ticket_id=ticket.id, user_id=agent.id))
    _changed(ticket, now)
    session.flush()
    return note


@dataclass(frozen=True)
class MentionEntry:
    mention: Mention
    ticket_id: int
    ticket_subject: str
    author_name: str
    excerpt: str


def mentions_of(session: Session, user_id: int, limit: int = 100) -> list[MentionEntry]:
    rows = session.execute(
        select(Mention, Ticket.subject, Message.from_name, Message.body_text)
        .join(Message, Message.id == Mention.message_id)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(Mention.user_id == user_id)
        .order_by(Mention.read_at.is_not(None), Mention.created_at.desc(), Mention.id.desc())
        .limit(limit)
    )
    return [
        MentionEntry(
            mention=mention,
            # Follows the note when its ticket was merged into another one.
            ticket_id=mention.ticket_id,
            ticket_subject=subject,
            author_name=author,
            excerpt=" ".join(body.split())[:280],
        )
        for mention, subject, author, body in rows
    ]


def unread_mentions(session: Session, user_id: int) -> int:
    return session.scalar(
        select(func.count(Mention.id)).where(Mention.user_id == user_id, Mention.read_at.is_(None))
    )


def mark_mentions_read(session: Session, user_id: int, ticket_id: int | None = None) -> int:
    condition = [Mention.user_id == user_id, Mention.read_at.is_(None)]
    if ticket_id is not None:
        condition.append(Mention.ticket_id == ticket_id)
    return session.execute(
        update(Mention)
        .where(*condition)
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
