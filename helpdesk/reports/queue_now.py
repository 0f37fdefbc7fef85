"""The queue right now: open tickets by status, unassigned and overdue, new and resolved
since local midnight, and per agent the tickets they hold and the replies they wrote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from helpdesk.reports.periods import local_midnight, local_today
from helpdesk.reports.queries import _in_mailbox, _support_users
from helpdesk.tickets.models import DONE_STATUSES, OPEN_STATUSES, MessageKind, Ticket, TicketStatus
from helpdesk.tickets.models import Message as TicketMessage


@dataclass(frozen=True)
class AgentNow:
    user_id: int
    name: str
    open_assigned: int
    overdue: int
    replies_today: int
    replies_week: int


@dataclass(frozen=True)
class NowFigures:
    at: datetime
    by_status: dict[TicketStatus, int]
    unassigned: int
    overdue: int
    new_today: int
    resolved_today: int
    agents: list[AgentNow]

    @property
    def open_total(self) -> int:
        return sum(self.by_status.values())

    @property
    def waiting(self) -> int:
        return self.by_status[TicketStatus.waiting]


def now_figures(
    session: Session, *, now: datetime, zone: ZoneInfo, mailbox_id: int | None = None
) -> NowFigures:
    """The live queue: open tickets by status, unassigned, overdue (past response_due_at),
    created and resolved since local midnight; per agent the open tickets they hold,
    how many of those are overdue, and replies since local midnight and since Monday."""
    in_mailbox = _in_mailbox(mailbox_id)
    overdue = func.coalesce(Ticket.response_due_at < now, False)
    rows = session.execute(
        select(
            Ticket.status,
            Ticket.assignee_id,
            func.count(),
            func.coalesce(func.sum(case((overdue, 1), else_=0)), 0),
        )
        .where(Ticket.status.in_(OPEN_STATUSES), in_mailbox)
        .group_by(Ticket.status, Ticket.assignee_id)
    ).all()
    by_status = dict.fromkeys(OPEN_STATUSES, 0)
    held: dict[int, list[int]] = {}
    unassigned = overdue_total = 0
    for status, assignee_id, n, late in rows:
        by_status[TicketStatus(status)] += n
        overdue_total += late
        if assignee_id is None:
            unassigned += n
        else:
            counts = held.setdefault(assignee_id, [0, 0])
            counts[0] += n
            counts[1] += late
    today = local_today(now, zone)
    today_start = local_midnight(today, zone)
    week_start = local_midnight(today - timedelta(days=today.weekday()), zone)
    new_today, resolved_today = session.execute(
        select(
            func.coalesce(func.sum(case((Ticket.created_at >= today_start, 1), else_=0)), 0),
            func.coalesce(
                func.sum(
                    case(
                        (
                            (Ticket.resolved_at >= today_start) & Ticket.status.in_(DONE_STATUSES),
                            1,
                        ),
                        else_=0,
                    )
                ),
                0,
            ),
        ).where(
            or_(Ticket.created_at >= today_start, Ticket.resolved_at >= today_start),
            Ticket.merged_into_id.is_(None),
            in_mailbox,
        )
    ).one()
    replies = _reply_counts(session, week_start, today_start, mailbox_id)
    agents = [
        AgentNow(
            user.id,
            user.name,
            held.get(user.id, [0, 0])[0],
            held.get(user.id, [0, 0])[1],
            replies.get(user.id, (0, 0))[1],
            replies.get(user.id, (0, 0))[0],
        )
        for user in _support_users(session, [*held, *replies])
    ]
    agents.sort(key=lambda a: (-a.overdue, -a.open_assigned, a.name))
    return NowFigures(
        now, by_status, unassigned, overdue_total, int(new_today), int(resolved_today), agents
    )


def _reply_counts(
    session: Session, since: datetime, today_start: datetime, mailbox_id: int | None
) -> dict[int, tuple[int, int]]:
    """Per author: replies since `since`, and of those since `today_start`."""
    query = (
        select(
            TicketMessage.author_id,
            func.count(),
            func.sum(case((TicketMessage.created_at >= today_start, 1), else_=0)),
        )
        .where(
            TicketMessage.kind == MessageKind.reply,
            TicketMessage.created_at >= since,
            TicketMessage.author_id.is_not(None),
        )
        .group_by(TicketMessage.author_id)
    )
    if mailbox_id is not None:
        query = query.join(Ticket, Ticket.id == TicketMessage.ticket_id).where(
            Ticket.mailbox_id == mailbox_id
        )
    return {author: (int(n), int(today or 0)) for author, n, today in session.execute(query)}
