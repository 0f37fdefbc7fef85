"""Ticket work over a date range, overall and per agent: tickets per day, first-response
and resolution times, SLA breaches, reopens and the busiest hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Float, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from helpdesk.db import UTCDateTime
from helpdesk.reports.percentiles import Durations, DurationStats, duration_stats
from helpdesk.reports.periods import Scope
from helpdesk.reports.queries import (
    _between,
    _count_by_local,
    _count_if,
    _support_users,
    _tickets_in_scope,
)
from helpdesk.tickets.models import DONE_STATUSES, OPEN_STATUSES, MessageKind, Ticket
from helpdesk.tickets.models import Message as TicketMessage

# A reopen is written as an event message by ingest ("Reopened by a customer reply (was
# resolved).") and by an agent's status change ("Status closed → open by Kim."); the
# tests drive both code paths, so a changed wording fails them.
REOPEN_PATTERNS = (
    "Reopened by a customer reply%",
    *(f"Status {done} → {active} %" for done in DONE_STATUSES for active in OPEN_STATUSES),
)


def _seconds(session: Session, later, earlier):
    """Whole seconds from `earlier` to `later` (PostgreSQL keeps the fraction)."""
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        return cast(func.date_part("epoch", later - earlier), Float)
    if dialect.dbapi.sqlite_version_info >= (3, 38):
        # unixepoch() reads the stored text about twice as fast as julianday().
        return func.unixepoch(later) - func.unixepoch(earlier)
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0)


@dataclass(frozen=True)
class DayVolume:
    day: date
    new: int
    resolved: int


def ticket_volume(session: Session, scope: Scope) -> list[DayVolume]:
    """Per local day: tickets created, and tickets resolved. Reopening clears a ticket's
    resolved_at (ingest and the ticket actions both do), so a resolved_at means the ticket
    is resolved or closed now and a reopened ticket's resolution is taken back."""
    counts: dict[str, list[int]] = {}
    for index, column in enumerate((Ticket.created_at, Ticket.resolved_at)):
        for value, n in _count_by_local(session, column, scope, ("day",)):
            counts.setdefault(str(value), [0, 0])[index] = int(n)
    return [
        DayVolume(d, *counts.get(d.isoformat(), [0, 0]))  # type: ignore[arg-type]
        for d in scope.range.days
    ]


def _durations_until(session: Session, scope: Scope, done_at):
    """Per assignee, the seconds from creation to `done_at` (first response, resolution)
    of the tickets whose `done_at` falls in the range."""
    return (
        select(
            Ticket.assignee_id.label("key"),
            _seconds(session, done_at, Ticket.created_at).label("seconds"),
        )
        .where(_between(done_at, scope), _tickets_in_scope(scope))
        .subquery()
    )


@dataclass(frozen=True)
class ResponseTimes:
    """First-response times of the tickets first answered in the range, resolution
    times of those resolved in it; by assignee and overall."""

    first_response: Durations
    resolution: Durations


def response_times(session: Session, scope: Scope) -> ResponseTimes:
    return ResponseTimes(
        duration_stats(session, _durations_until(session, scope, Ticket.first_response_at)),
        duration_stats(session, _durations_until(session, scope, Ticket.resolved_at)),
    )


@dataclass(frozen=True)
class SLAFigures:
    """First responses measured against each ticket's first-response due time (the
    target of its mailbox and priority, counted in the mailbox's business hours)."""

    answered: int  # first responses given in the range
    answered_late: int
    unanswered_late: int  # created in the range, still open, unanswered past the due time

    @property
    def breaches(self) -> int:
        return self.answered_late + self.unanswered_late

    @property
    def measured(self) -> int:
        return self.answered + self.unanswered_late

    @property
    def rate(self) -> float | None:
        return self.breaches / self.measured if self.measured else None


def sla_figures(session: Session, scope: Scope, now: datetime) -> SLAFigures:
    """First-response breaches: answered after the due time, or (created in the range,
    still open) not answered although the due time has passed. The due time is the one
    the ticket carried (`first_response_due_at`), so business hours and a priority
    changed before the answer count as they did for the agents. Two queries, each over
    one index range (first answered in / created in the range).
    """
    late = Ticket.first_response_at > Ticket.first_response_due_at
    answered, answered_late = session.execute(
        select(func.count(), _count_if(late))
        .select_from(Ticket)
        .where(_between(Ticket.first_response_at, scope), _tickets_in_scope(scope))
    ).one()
    unanswered_late = session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(
            _between(Ticket.created_at, scope),
            _tickets_in_scope(scope),
            Ticket.first_response_at.is_(None),
            Ticket.status.in_(OPEN_STATUSES),
            Ticket.first_response_due_at < literal(now, UTCDateTime),
        )
    )
    return SLAFigures(int(answered), int(answered_late), int(unanswered_late or 0))


@dataclass(frozen=True)
class ReopenFigures:
    """Tickets created in the range that were solved at some point, and how many of
    those a customer reply or an agent reopened."""

    solved: int
    reopened: int

    @property
    def rate(self) -> float | None:
        return self.reopened / self.solved if self.solved else None


def reopen_figures(session: Session, scope: Scope) -> ReopenFigures:
    # A reopen happens after the ticket was created, so only events since the range
    # began can belong to its tickets: a short index range over the rare event rows.
    reopen_events = select(TicketMessage.ticket_id).where(
        TicketMessage.kind == MessageKind.event,
        TicketMessage.created_at >= scope.range.start,
        or_(*(TicketMessage.body_text.like(pattern) for pattern in REOPEN_PATTERNS)),
    )
    in_range = (_between(Ticket.created_at, scope), _tickets_in_scope(scope))
    # Counted in the select list, not the WHERE clause: SQLite would otherwise pick the
    # status index over the (covering) creation-time index.
    done = session.scalar(select(_count_if(Ticket.status.in_(DONE_STATUSES))).where(*in_range))
    # Driven by the few reopen events, each a primary-key lookup of its ticket.
    reopened, reopened_done = session.execute(
        select(func.count(), _count_if(Ticket.status.in_(DONE_STATUSES))).where(
            Ticket.id.in_(reopen_events), *in_range
        )
    ).one()
    return ReopenFigures(int(done) + int(reopened) - int(reopened_done), int(reopened))


@dataclass(frozen=True)
class BusyHours:
    """New tickets per local weekday (0 = Monday) and hour."""

    grid: list[list[int]]

    @property
    def by_hour(self) -> list[int]:
        return [sum(day[hour] for day in self.grid) for hour in range(24)]

    @property
    def busiest_hour(self) -> int | None:
        totals = self.by_hour
        return totals.index(max(totals)) if any(totals) else None


def busy_hours(session: Session, scope: Scope) -> BusyHours:
    grid = [[0] * 24 for _ in range(7)]
    rows = _count_by_local(session, Ticket.created_at, scope, ("weekday", "hour"))
    for day, h, n in rows:
        grid[int(day)][int(h)] = int(n)
    return BusyHours(grid)


@dataclass(frozen=True)
class RangeSummary:
    created: int
    resolved: int
    first_response: DurationStats
    resolution: DurationStats
    sla: SLAFigures
    reopen: ReopenFigures


@dataclass(frozen=True)
class AgentRange:
    user_id: int | None  # None: tickets nobody holds
    name: str
    replies: int
    resolved: int
    first_response: DurationStats
    resolution: DurationStats


def range_summary(
    session: Session, scope: Scope, now: datetime, times: ResponseTimes | None = None
) -> RangeSummary:
    times = times or response_times(session, scope)
    created = session.scalar(
        select(func.count()).where(_between(Ticket.created_at, scope), _tickets_in_scope(scope))
    )
    return RangeSummary(
        int(created or 0),
        times.resolution.overall.count,
        times.first_response.overall,
        times.resolution.overall,
        sla_figures(session, scope, now),
        reopen_figures(session, scope),
    )


def agent_figures(
    session: Session, scope: Scope, times: ResponseTimes | None = None
) -> list[AgentRange]:
    """Per agent: replies written in the range; resolutions, first-response and
    resolution times of the tickets they hold (the assignee answers for the ticket)."""
    times = times or response_times(session, scope)
    first, resolution = times.first_response, times.resolution
    query = (
        select(TicketMessage.author_id, func.count())
        .where(
            TicketMessage.kind == MessageKind.reply,
            _between(TicketMessage.created_at, scope),
            TicketMessage.author_id.is_not(None),
        )
        .group_by(TicketMessage.author_id)
    )
    if scope.mailbox_id is not None:
        query = query.join(Ticket, Ticket.id == TicketMessage.ticket_id).where(
            Ticket.mailbox_id == scope.mailbox_id
        )
    replies = dict(session.execute(query).all())
    users = _support_users(session, [*replies, *first.by_key, *resolution.by_key])
    rows = [
        AgentRange(
            user.id,
            user.name,
            int(replies.get(user.id, 0)),
            resolution.of(user.id).count,
            first.of(user.id),
            resolution.of(user.id),
        )
        for user in users
    ]
    if None in first.by_key or None in resolution.by_key:
        rows.append(
            AgentRange(None, "", 0, resolution.of(None).count, first.of(None), resolution.of(None))
        )
    return rows
