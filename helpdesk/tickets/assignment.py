"""Automatic round-robin assignment of new tickets, and agents' availability.

Ingest calls `auto_assign` for a ticket it opened; mailboxes without `auto_assign`
leave tickets in the Unassigned view.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from helpdesk.auth.models import Role, User
from helpdesk.mail.models import Mailbox
from helpdesk.tickets.models import Ticket

_MAX_ATTEMPTS = 20


class UnknownAgent(LookupError):
    """The user does not exist or cannot take tickets."""


def available_agents(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.role == Role.agent, User.is_active, User.is_available)
            .order_by(User.id)
        )
    )


def _next_after(agent_ids: list[int], last_id: int | None) -> int:
    """The agent after `last_id` in id order, wrapping round (ids of removed agents too)."""
    if last_id is not None:
        for agent_id in agent_ids:
            if agent_id > last_id:
                return agent_id
    return agent_ids[0]


def auto_assign(session: Session, ticket: Ticket) -> User | None:
    """Give the ticket to the next available agent of its mailbox's rotation.

    Fair across concurrent ingests: the rotation pointer moves with a conditional
    UPDATE, so two transactions that read the same pointer cannot both pick the same
    agent; the loser re-reads and takes the next one. Does not commit.
    """
    if ticket.assignee_id is not None or ticket.mailbox_id is None:
        return None
    for _ in range(_MAX_ATTEMPTS):
        row = session.execute(
            select(Mailbox.auto_assign, Mailbox.last_assigned_user_id).where(
                Mailbox.id == ticket.mailbox_id
            )
        ).first()
        if row is None or not row.auto_assign:
            return None
        agents = available_agents(session)
        if not agents:
            return None
        chosen = _next_after([a.id for a in agents], row.last_assigned_user_id)
        moved = session.execute(
            update(Mailbox)
            .where(
                Mailbox.id == ticket.mailbox_id,
                Mailbox.last_assigned_user_id.is_not_distinct_from(row.last_assigned_user_id),
            )
            .values(last_assigned_user_id=chosen)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount == 1:
            ticket.assignee_id = chosen
            session.flush()
            return session.get(User, chosen)
    return None


def set_availability(session: Session, user_id: int, available: bool) -> User:
    """An agent marks themselves away (or back); the rotation skips away agents."""
    user = session.get(User, user_id)
    if user is None or user.role not in (Role.agent, Role.admin):
        raise UnknownAgent(user_id)
    user.is_available = available
    return user


def set_auto_assign(session: Session, mailbox_id: int, enabled: bool) -> Mailbox | None:
    mailbox = session.get(Mailbox, mailbox_id)
    if mailbox is not None:
        mailbox.auto_assign = enabled
    return mailbox


def staff_availability(session: Session) -> list[User]:
    """Agents and admins with their availability, for the admin's overview."""
    return list(
        session.scalars(
            select(User)
            .where(User.role.in_((Role.agent, Role.admin)), User.is_active)
            .order_by(User.is_available, User.name)
        )
    )
