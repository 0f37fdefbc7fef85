"""Creating notifications where a change happens, reading them for the bell and the list,
and each agent's switches and watched mailboxes.

The services that make a change (assignment, notes, ingest) call `notify` or
`notify_many` in their own transaction, so a notification exists exactly when its change
was committed. Functions flush and leave the commit to the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from helpdesk.auth.models import Role, User
from helpdesk.db import chunks, utcnow
from helpdesk.mail.models import Mailbox
from helpdesk.notifications.models import (
    MailboxWatch,
    Notification,
    NotificationKind,
    NotificationSetting,
)

SUPPORT_ROLES = (Role.admin, Role.agent)
MAX_TITLE = 300
LIST_LIMIT = 100


@dataclass(frozen=True)
class Switches:
    in_app: bool = True
    email: bool = False


DEFAULT_SWITCHES = Switches()


@dataclass(frozen=True)
class Notified:
    """How many notifications were stored, and how many of them wait to be mailed."""

    stored: int = 0
    to_mail: int = 0


@dataclass(frozen=True)
class Event:
    """One thing that happened to a ticket, for the agents in `user_ids`."""

    kind: NotificationKind
    ticket_id: int
    title: str
    user_ids: Sequence[int]
    actor_id: int | None = None


# --- creating ------------------------------------------------------------------------


def _switches_by_user(
    session: Session, user_ids: Iterable[int]
) -> dict[tuple[int, NotificationKind], Switches]:
    found = {}
    for chunk in chunks(sorted(set(user_ids))):
        for row in session.scalars(
            select(NotificationSetting).where(NotificationSetting.user_id.in_(chunk))
        ):
            found[(row.user_id, row.kind)] = Switches(row.in_app, row.email)
    return found


def _active_agents(session: Session, user_ids: Iterable[int]) -> set[int]:
    found: set[int] = set()
    for chunk in chunks(sorted(set(user_ids))):
        found.update(
            session.scalars(
                select(User.id).where(
                    User.id.in_(chunk), User.is_active, User.role.in_(SUPPORT_ROLES)
                )
            )
        )
    return found


def notify_many(session: Session, events: Sequence[Event]) -> Notified:
    """Store the notifications of many events in one INSERT.

    Nobody is told of their own action, an agent who switched a kind off (in the app
    and by mail) gets nothing for it, and only active agents are told anything.
    """
    wanted = {user_id for event in events for user_id in event.user_ids}
    if not wanted:
        return Notified()
    agents = _active_agents(session, wanted)
    switches = _switches_by_user(session, agents)
    now = utcnow()
    rows = []
    for event in events:
        for user_id in dict.fromkeys(event.user_ids):
            if user_id not in agents or user_id == event.actor_id:
                continue
            switch = switches.get((user_id, event.kind), DEFAULT_SWITCHES)
            if not (switch.in_app or switch.email):
                continue
            rows.append(
                {
                    "user_id": user_id,
                    "kind": event.kind,
                    "ticket_id": event.ticket_id,
                    "actor_id": event.actor_id,
                    "title": (event.title or "")[:MAX_TITLE],
                    "in_app": switch.in_app,
                    "send_email": switch.email,
                    "created_at": now,
                }
            )
    if rows:
        # Core's executemany: the ORM's bulk INSERT spends longer per row on bookkeeping
        # than the database spends storing it.
        session.execute(insert(Notification.__table__), rows)
    return Notified(len(rows), sum(row["send_email"] for row in rows))


def notify(
    session: Session,
    kind: NotificationKind,
    *,
    ticket_id: int,
    title: str,
    user_ids: Sequence[int],
    actor_id: int | None = None,
) -> Notified:
    return notify_many(session, [Event(kind, ticket_id, title, user_ids, actor_id)])


def watchers_by_mailbox(session: Session, mailbox_ids: Iterable[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for chunk in chunks(sorted(set(mailbox_ids))):
        for mailbox_id, user_id in session.execute(
            select(MailboxWatch.mailbox_id, MailboxWatch.user_id)
            .where(MailboxWatch.mailbox_id.in_(chunk))
            .order_by(MailboxWatch.user_id)
        ):
            found.setdefault(mailbox_id, []).append(user_id)
    return found


def mail_due(session: Session) -> bool:
    """Whether some notification waits to be mailed."""
    return (
        session.scalar(select(Notification.id).where(Notification.send_email).limit(1)) is not None
    )


# --- reading -------------------------------------------------------------------------


def _visible(user_id: int):
    return (Notification.user_id == user_id, Notification.in_app)


def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(
        select(func.count(Notification.id)).where(
            *_visible(user_id), Notification.read_at.is_(None)
        )
    )


@dataclass(frozen=True)
class Entry:
    notification: Notification
    actor_name: str | None


def recent(session: Session, user_id: int, limit: int = LIST_LIMIT) -> list[Entry]:
    """The newest notifications, unread ones first."""
    rows = session.execute(
        select(Notification, User.name)
        .outerjoin(User, User.id == Notification.actor_id)
        .where(*_visible(user_id))
        .order_by(
            Notification.read_at.is_not(None),
            Notification.created_at.desc(),
            Notification.id.desc(),
        )
        .limit(limit)
    )
    return [Entry(notification, actor) for notification, actor in rows]


def notification_of(session: Session, user_id: int, notification_id: int) -> Notification | None:
    """The user's notification by id; None for another user's or one that does not exist."""
    notification = session.get(Notification, notification_id)
    return notification if notification is not None and notification.user_id == user_id else None


def mark_read(session: Session, user_id: int, notification_id: int | None = None) -> int:
    """One of the user's notifications (or all of them) marked read; returns how many."""
    condition = [Notification.user_id == user_id, Notification.read_at.is_(None)]
    if notification_id is not None:
        condition.append(Notification.id == notification_id)
    return session.execute(
        update(Notification)
        .where(*condition)
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount


def mark_ticket_read(session: Session, user_id: int, ticket_id: int) -> int:
    """Opening a ticket is reading what the bell said about it."""
    return session.execute(
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.ticket_id == ticket_id,
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount


# --- switches and watches --------------------------------------------------------------


def switches_of(session: Session, user_id: int) -> dict[NotificationKind, Switches]:
    stored = _switches_by_user(session, [user_id])
    return {kind: stored.get((user_id, kind), DEFAULT_SWITCHES) for kind in NotificationKind}


def save_switches(
    session: Session, user_id: int, switches: dict[NotificationKind, Switches]
) -> None:
    existing = {
        row.kind: row
        for row in session.scalars(
            select(NotificationSetting).where(NotificationSetting.user_id == user_id)
        )
    }
    for kind, switch in switches.items():
        row = existing.get(kind)
        if row is None:
            row = NotificationSetting(user_id=user_id, kind=kind)
            session.add(row)
        row.in_app = switch.in_app
        row.email = switch.email
    session.flush()


def mailboxes(session: Session) -> list[Mailbox]:
    return list(session.scalars(select(Mailbox).order_by(Mailbox.name, Mailbox.id)))


def watched_mailbox_ids(session: Session, user_id: int) -> set[int]:
    return set(
        session.scalars(select(MailboxWatch.mailbox_id).where(MailboxWatch.user_id == user_id))
    )


class UnknownMailbox(ValueError):
    pass


def save_watches(session: Session, user_id: int, mailbox_ids: Iterable[int]) -> None:
    """The user watches exactly these mailboxes; raises UnknownMailbox for an id that
    names none, before changing anything."""
    wanted = set(mailbox_ids)
    known = set(session.scalars(select(Mailbox.id).where(Mailbox.id.in_(wanted))))
    if wanted - known:
        raise UnknownMailbox(sorted(wanted - known)[0])
    current = watched_mailbox_ids(session, user_id)
    if current - wanted:
        session.execute(
            delete(MailboxWatch).where(
                MailboxWatch.user_id == user_id, MailboxWatch.mailbox_id.in_(current - wanted)
            )
        )
    for mailbox_id in sorted(wanted - current):
        session.add(MailboxWatch(user_id=user_id, mailbox_id=mailbox_id))
    session.flush()


def active_agents(session: Session, query: str = "", limit: int = 20) -> list[User]:
    """Active agents and admins whose name or address starts with `query` (any word of
    the name), for the @mention autocomplete."""
    agents = session.scalars(
        select(User)
        .where(User.is_active, User.role.in_(SUPPORT_ROLES))
        .order_by(User.name, User.id)
    )
    folded = query.strip().casefold()
    if not folded:
        return list(agents)[:limit]
    found = []
    for agent in agents:
        words = [agent.name.casefold(), *agent.name.casefold().split(), agent.email.casefold()]
        if any(word.startswith(folded) for word in words):
            found.append(agent)
    return found[:limit]
