"""Internal notes on a ticket (never mailed) and the @mentions in them, for each agent's
Mentions page.

Functions flush and leave the commit to the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from helpdesk.auth.models import User
from helpdesk.db import utcnow
from helpdesk.notifications import service as notifications
from helpdesk.notifications.models import NotificationKind
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


def _handles_by_agent(agents: list[User]) -> dict[User, set[str]]:
    """What an agent can be mentioned as: @Full Name, @FullName, @first-name (when no
    other agent shares it) or @local-part of their email address."""
    first_names: dict[str, int] = {}
    for agent in agents:
        first = agent.name.split()[0].casefold() if agent.name.split() else ""
        first_names[first] = first_names.get(first, 0) + 1
    found = {}
    for agent in agents:
        parts = agent.name.split()
        handles = {agent.email.rpartition("@")[0], agent.name, "".join(parts)}
        if parts and first_names.get(parts[0].casefold()) == 1:
            handles.add(parts[0])
        found[agent] = {h.strip() for h in handles if h.strip()}
    return found


def mentioned_agents(session: Session, text: str) -> list[User]:
    """Agents named in the text by one of their handles."""
    if "@" not in text:
        return []
    folded = text.casefold()
    return [
        agent
        for agent, handles in _handles_by_agent(support_agents(session)).items()
        if any(_handle_pattern(h).search(folded) for h in handles)
    ]


def highlight_mentions(text: str, agents: list[User]) -> Markup:
    """The note's text, escaped, with each @mention of an agent in a <mark>."""
    if "@" not in text:
        return escape(text)
    handles = sorted(
        {h.casefold() for hs in _handles_by_agent(agents).values() for h in hs},
        key=len,
        reverse=True,
    )
    if not handles:
        return escape(text)
    # Longest first, so "@Bob Kim" is marked whole rather than as "@Bob".
    pattern = re.compile(
        r"(?<![\w@.])@(?:" + "|".join(re.escape(h) for h in handles) + r")(?![\w])",
        re.IGNORECASE,
    )
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(Markup('<mark class="mention">%s</mark>') % match.group(0))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


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
    mentioned = [agent.id for agent in mentioned_agents(session, text) if agent.id != author.id]
    for agent_id in mentioned:
        session.add(Mention(message_id=note.id, ticket_id=ticket.id, user_id=agent_id))
    notifications.notify(
        session,
        NotificationKind.mentioned,
        ticket_id=ticket.id,
        title=ticket.subject,
        user_ids=mentioned,
        actor_id=author.id,
    )
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
