"""The manager dashboard's figures: the queue right now, ticket work over a date range
(overall, per agent, per mailbox), the help centre and the latest campaigns.

Every figure is one SQL aggregate (counts, sums, percentiles) over the tables; nothing
loops over ticket or message rows in Python. Date ranges are whole days in the viewer's
time zone, converted to UTC instants once, so the queries compare plain timestamps.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    Float,
    Integer,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import Session

from helpdesk.auth.models import Role, User
from helpdesk.campaigns.models import Campaign, Delivery, DeliveryState
from helpdesk.db import UTCDateTime
from helpdesk.faq.models import Article, ArticleViewCount, ArticleVote, ContactAfterFaq, SearchCount
from helpdesk.mail.models import Mailbox, RawMessage, RawSource, RawStatus
from helpdesk.text import LazyText
from helpdesk.text import lazy_text as _l
from helpdesk.tickets.models import (
    DONE_STATUSES,
    OPEN_STATUSES,
    MessageKind,
    Ticket,
    TicketStatus,
)
from helpdesk.tickets.models import Message as TicketMessage

DEFAULT_RANGE_DAYS = 30
MAX_RANGE_DAYS = 366
TOP = 10
CAMPAIGNS = 10
# A reopen is written as an event message by ingest ("Reopened by a customer reply (was
# resolved).") and by an agent's status change ("Status closed → open by Kim."); the
# tests drive both code paths, so a changed wording fails them.
REOPEN_PATTERNS = (
    "Reopened by a customer reply%",
    *(f"Status {done} → {active} %" for done in DONE_STATUSES for active in OPEN_STATUSES),
)


class DashboardInputError(ValueError):
    """Refused filter values; `errors` maps a field to a message. Nothing was read."""

    def __init__(self, errors: dict[str, LazyText]):
        super().__init__("; ".join(str(m) for m in errors.values()))
        self.errors = errors


# --- time ---------------------------------------------------------------------------


def user_zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant at which `day` begins in `zone`."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


@dataclass(frozen=True)
class DateRange:
    """Whole local days from `first_day` to `last_day`, both included."""

    first_day: date
    last_day: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return local_midnight(self.first_day, self.zone)

    @property
    def end(self) -> datetime:
        return local_midnight(self.last_day + timedelta(days=1), self.zone)

    @property
    def days(self) -> list[date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=n) for n in range(count)]


@dataclass(frozen=True)
class Scope:
    """What the figures cover: a date range and optionally one mailbox."""

    range: DateRange
    mailbox_id: int | None = None


def _parse_day(raw: str, field: str, errors: dict[str, LazyText]) -> date | None:
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError:
        errors[field] = _l("Enter a date like 2024-03-31.")
        return None
    if not 2000 <= value.year <= 2100:
        errors[field] = _l("Enter a date between the years 2000 and 2100.")
        return None
    return value


def parse_scope(
    session: Session,
    raw_from: str | None,
    raw_to: str | None,
    raw_mailbox: str | None,
    *,
    zone: ZoneInfo,
    today: date,
) -> Scope:
    """The scope from query-string values; empty values give the last 30 days, all
    mailboxes. Raises DashboardInputError."""
    errors: dict[str, LazyText] = {}
    last = _parse_day(raw_to, "to", errors) if (raw_to or "").strip() else today
    first = (
        _parse_day(raw_from, "from", errors)
        if (raw_from or "").strip()
        else (last or today) - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    )
    if first and last and not errors:
        if last < first:
            errors["to"] = _l("The end date must not be before the start date.")
        elif (last - first).days + 1 > MAX_RANGE_DAYS:
            errors["from"] = _l("Choose at most %(n)d days.", n=MAX_RANGE_DAYS)
    mailbox_id = None
    raw_mailbox = (raw_mailbox or "").strip()
    if raw_mailbox:
        if not raw_mailbox.isdigit() or len(raw_mailbox) > 18:
            errors["mailbox"] = _l("Choose a mailbox from the list.")
        elif session.get(Mailbox, int(raw_mailbox)) is None:
            errors["mailbox"] = _l("This mailbox does not exist.")
        else:
            mailbox_id = int(raw_mailbox)
    if errors:
        raise DashboardInputError(errors)
    return Scope(DateRange(first, last, zone), mailbox_id)


def mailbox_choices(session: Session) -> list[tuple[int, str]]:
    return [
        tuple(row)
        for row in session.execute(select(Mailbox.id, Mailbox.name).order_by(Mailbox.name))
    ]


def _offset_segments(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """(from, UTC offset in seconds) for each stretch of constant offset in [start, end)."""

    def offset(at: datetime) -> int:
        return int(at.astimezone(zone).utcoffset().total_seconds())

    segments = [(start, offset(start))]
    cursor = start
    while cursor < end:
        step = min(cursor + timedelta(days=1), end)
        if offset(step) != segments[-1][1]:
            low, high = cursor, step  # the change happens in (low, high]
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if offset(middle) == segments[-1][1]:
                    low = middle
                else:
                    high = middle
            segments.append((high.replace(microsecond=0), offset(high)))
        cursor = step
    return segments


class _LocalTime:
    """SQL for the local day, hour and weekday of a UTC timestamp column.

    PostgreSQL converts with the zone database itself. SQLite knows no zones, so the
    column is shifted by the zone's offset, chosen per row from the offsets in force
    during the range (a daylight-saving change inside the range is a CASE branch).
    """

    def __init__(self, session: Session, column, zone: ZoneInfo, start: datetime, end: datetime):
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.column = column
        if self.postgres:
            self.local = func.timezone(zone.key, column)
            return
        segments = _offset_segments(zone, start, end)
        modifiers = [f"{seconds:+d} seconds" for _, seconds in segments]
        if len(segments) == 1:
            self.modifier = literal(modifiers[0])
        else:
            self.modifier = case(
                *(
                    (column < literal(begin, UTCDateTime), modifiers[n - 1])
                    for n, (begin, _) in enumerate(segments)
                    if n > 0
                ),
                else_=modifiers[-1],
            )

    def day(self):
        if self.postgres:
            return func.to_char(self.local, "YYYY-MM-DD")
        return func.strftime("%Y-%m-%d", self.column, self.modifier)

    def hour(self):
        if self.postgres:
            return cast(func.date_part("hour", self.local), Integer)
        return cast(func.strftime("%H", self.column, self.modifier), Integer)

    def weekday(self):
        """0 is Monday."""
        if self.postgres:
            return cast(func.date_part("isodow", self.local), Integer) - 1
        return (cast(func.strftime("%w", self.column, self.modifier), Integer) + 6) % 7


def _count_by_local(session: Session, column, scope: Scope, parts: Sequence[str], *where):
    """Rows of (local parts…, count) for rows whose `column` falls in the range; `parts`
    names _LocalTime methods ("day", "hour", "weekday").

    When every offset in the range is a whole number of hours (nearly every zone), rows
    are first counted per UTC hour and only those few thousand hours are converted to
    local time: the conversion costs far more than the count.
    """
    r = scope.range
    conditions = (_between(column, scope), _tickets_in_scope(scope), *where)
    postgres = session.get_bind().dialect.name == "postgresql"
    whole_hours = all(
        seconds % 3600 == 0 for _, seconds in _offset_segments(r.zone, r.start, r.end)
    )
    if not whole_hours:
        local = _LocalTime(session, column, r.zone, r.start, r.end)
        exprs = [getattr(local, part)() for part in parts]
        return session.execute(select(*exprs, func.count()).where(*conditions).group_by(*exprs))
    if postgres:
        hour = func.date_trunc("hour", func.timezone("UTC", column))
    else:
        # The stored text is "YYYY-MM-DD HH:MM:SS.ffffff": its first 13 characters.
        hour = func.substr(column, 1, 13)
    buckets = select(hour.label("h"), func.count().label("n")).where(*conditions).group_by(hour)
    buckets = buckets.subquery()
    if postgres:
        start_of_hour = func.timezone("UTC", buckets.c.h)
    else:
        start_of_hour = buckets.c.h.concat(":00:00.000000")
    local = _LocalTime(session, start_of_hour, r.zone, r.start, r.end)
    exprs = [getattr(local, part)() for part in parts]
    return session.execute(select(*exprs, func.sum(buckets.c.n)).group_by(*exprs))


def _seconds(session: Session, later, earlier):
    """Whole seconds from `earlier` to `later` (PostgreSQL keeps the fraction)."""
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        return cast(func.date_part("epoch", later - earlier), Float)
    if dialect.dbapi.sqlite_version_info >= (3, 38):
        # unixepoch() reads the stored text about twice as fast as julianday().
        return func.unixepoch(later) - func.unixepoch(earlier)
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0)


# --- percentiles --------------------------------------------------------------------


@dataclass(frozen=True)
class DurationStats:
    """How many durations, their median and 90th percentile, in seconds (None if none)."""

    count: int = 0
    median: float | None = None
    p90: float | None = None


NO_DURATIONS = DurationStats()


@dataclass(frozen=True)
class Durations:
    """Stats over all the durations, and per key (the assignee; None for unassigned)."""

    overall: DurationStats
    by_key: dict[object, DurationStats]

    def of(self, key) -> DurationStats:
        return self.by_key.get(key, NO_DURATIONS)


def duration_stats(session: Session, durations) -> Durations:
    """Count, median and 90th percentile of a subquery with columns `key` and `seconds`,
    over all its rows and per key.

    The percentile is the one PostgreSQL's percentile_cont computes (linear interpolation
    between closest ranks, Excel's PERCENTILE.INC): for the n values sorted ascending,
    x[0] … x[n-1], and p in [0, 1], take h = (n - 1)·p and return
    x[⌊h⌋] + (h - ⌊h⌋)·(x[⌊h⌋ + 1] - x[⌊h⌋]). The median is p = 0.5 (the mean of the two
    middle values when n is even). PostgreSQL computes it in one query (grouping sets);
    SQLite, which has no percentile function, returns the rows and `_durations_of_rows`
    computes it.
    """
    d = durations
    if session.get_bind().dialect.name != "postgresql":
        return _durations_of_rows(session.execute(select(d.c.key, d.c.seconds)))
    query = select(
        func.grouping(d.c.key),
        d.c.key,
        func.count(),
        func.percentile_cont(0.5).within_group(d.c.seconds),
        func.percentile_cont(0.9).within_group(d.c.seconds),
    ).group_by(func.grouping_sets(d.c.key, tuple_()))
    overall, by_key = NO_DURATIONS, {}
    for is_overall, key, n, median, p90 in session.execute(query):
        if not n:
            continue  # the overall grouping of no rows at all
        stats = DurationStats(int(n), float(median), float(p90))
        if is_overall:
            overall = stats
        else:
            by_key[key] = stats
    return Durations(overall, by_key)


def _durations_of_rows(rows) -> Durations:
    """SQLite has no percentile function: the (key, seconds) rows are read and the same
    percentiles computed here (reading them costs less than sorting them twice in SQL)."""
    everything: list[float] = []
    per_key: dict[object, list[float]] = defaultdict(list)
    for key, seconds in rows:
        everything.append(seconds)
        per_key[key].append(seconds)
    return Durations(
        _stats_of(everything), {key: _stats_of(values) for key, values in per_key.items()}
    )


def _stats_of(values: list[float]) -> DurationStats:
    if not values:
        return NO_DURATIONS
    values.sort()
    return DurationStats(len(values), _percentile(values, 0.5), _percentile(values, 0.9))


def _percentile(ordered: list[float], p: float) -> float:
    h = (len(ordered) - 1) * p
    low = int(h)
    if low + 1 == len(ordered):
        return float(ordered[low])
    return ordered[low] + (h - low) * (ordered[low + 1] - ordered[low])


# --- the queue now ------------------------------------------------------------------


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


def _in_mailbox(mailbox_id: int | None):
    return Ticket.mailbox_id == mailbox_id if mailbox_id is not None else literal(True)


def _support_users(session: Session, extra_ids: Iterable[int]) -> list[User]:
    """Active agents and admins, and anyone else who holds tickets or replied."""
    extra = [i for i in extra_ids if i is not None]
    condition = User.is_active & User.role.in_((Role.admin, Role.agent))
    if extra:
        condition = condition | User.id.in_(extra)
    return list(session.scalars(select(User).where(condition).order_by(User.name, User.id)))


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


# --- tickets over a date range ------------------------------------------------------


def _tickets_in_scope(scope: Scope):
    return and_(Ticket.merged_into_id.is_(None), _in_mailbox(scope.mailbox_id))


def _between(column, scope: Scope):
    return (column >= scope.range.start) & (column < scope.range.end)


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


# --- the help centre ----------------------------------------------------------------


@dataclass(frozen=True)
class ArticleFigure:
    article_id: int
    title: str
    language: str
    slug: str
    views: int = 0
    helpful: int = 0
    not_helpful: int = 0

    @property
    def helpful_share(self) -> float | None:
        votes = self.helpful + self.not_helpful
        return self.helpful / votes if votes else None


@dataclass(frozen=True)
class SearchFigure:
    query: str
    searches: int
    empty_searches: int


@dataclass(frozen=True)
class ContactFigures:
    submissions: int  # contact-form messages that became or joined a ticket
    after_faq: int  # of those, sent after reading at least one article
    articles_before: list[ArticleFigure]  # the last article read before writing, most often


@dataclass(frozen=True)
class FaqFigures:
    most_viewed: list[ArticleFigure]
    most_helpful: list[ArticleFigure]
    least_helpful: list[ArticleFigure]
    empty_searches: list[SearchFigure]
    contacts: ContactFigures


def faq_figures(session: Session, scope: Scope, limit: int = TOP) -> FaqFigures:
    """Views, votes and searches in the range (the help centre is not per mailbox)."""
    most_viewed = _top_articles(
        session,
        func.sum(ArticleViewCount.views),
        ArticleViewCount.article_id,
        _between(ArticleViewCount.hour, scope),
        limit,
    )
    yes = func.sum(case((ArticleVote.helpful, 1), else_=0))
    no = func.sum(case((ArticleVote.helpful, 0), else_=1))
    votes = (
        select(*_ARTICLE, yes, no)
        .select_from(ArticleVote)
        .join(Article, Article.id == ArticleVote.article_id)
        .where(_between(ArticleVote.created_at, scope))
        .group_by(*_ARTICLE)
    )

    def articles(query) -> list[ArticleFigure]:
        return [
            ArticleFigure(i, title, language, slug, helpful=int(y), not_helpful=int(n))
            for i, title, language, slug, y, n in session.execute(query.limit(limit))
        ]

    most_helpful = articles(votes.having(yes > 0).order_by(yes.desc(), no, Article.id))
    least_helpful = articles(votes.having(no > 0).order_by(no.desc(), yes, Article.id))
    empty = func.sum(SearchCount.empty_searches)
    searches = [
        SearchFigure(query, int(total), int(n))
        for query, total, n in session.execute(
            select(SearchCount.query, func.sum(SearchCount.searches), empty)
            .where(_between(SearchCount.hour, scope))
            .group_by(SearchCount.query)
            .having(empty > 0)
            .order_by(empty.desc(), SearchCount.query)
            .limit(limit * 2)
        )
    ]
    return FaqFigures(
        most_viewed, most_helpful, least_helpful, searches, contact_figures(session, scope, limit)
    )


_ARTICLE = (Article.id, Article.title, Article.language, Article.slug)


def _top_articles(session: Session, count, article_id, in_range, limit: int) -> list[ArticleFigure]:
    """Articles ranked by `count` over the rows (of `article_id`'s table) in the range."""
    return [
        ArticleFigure(i, title, language, slug, views=int(n))
        for i, title, language, slug, n in session.execute(
            select(*_ARTICLE, count)
            .select_from(article_id.table)
            .join(Article, Article.id == article_id)
            .where(in_range)
            .group_by(*_ARTICLE)
            .order_by(count.desc(), Article.id)
            .limit(limit)
        )
    ]


def contact_figures(session: Session, scope: Scope, limit: int = TOP) -> ContactFigures:
    submissions = session.scalar(
        select(func.count()).where(
            RawMessage.source == RawSource.form,
            RawMessage.status == RawStatus.ingested,
            _between(RawMessage.received_at, scope),
        )
    )
    after = session.scalar(
        select(func.count()).where(
            _between(ContactAfterFaq.created_at, scope), ContactAfterFaq.articles_read > 0
        )
    )
    before = _top_articles(
        session,
        func.count(),
        ContactAfterFaq.last_article_id,
        _between(ContactAfterFaq.created_at, scope),
        limit,
    )
    return ContactFigures(int(submissions or 0), int(after or 0), before)


# --- campaigns ----------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignRow:
    campaign_id: int
    name: str
    started_at: datetime | None
    sent: int
    hard_bounces: int
    soft_bounces: int
    human_opens: int
    clicks: int
    unsubscribes: int
    complaints: int

    @property
    def bounces(self) -> int:
        return self.hard_bounces + self.soft_bounces

    @property
    def delivered(self) -> int:
        return max(0, self.sent - self.bounces)

    def _share(self, value: int, base: int) -> float | None:
        return value / base if base else None

    @property
    def open_rate(self) -> float | None:
        """Recipients who opened as people (not proxies), of those delivered."""
        return self._share(self.human_opens, self.delivered)

    @property
    def click_rate(self) -> float | None:
        return self._share(self.clicks, self.delivered)

    @property
    def unsubscribe_rate(self) -> float | None:
        return self._share(self.unsubscribes, self.delivered)

    @property
    def bounce_rate(self) -> float | None:
        return self._share(self.bounces, self.sent)


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def latest_campaigns(session: Session, limit: int = CAMPAIGNS) -> list[CampaignRow]:
    """The campaigns that started sending most recently, oldest first, each with its
    delivery figures from one grouped query (rates as in the campaign report)."""
    latest = (
        select(Campaign.id)
        .where(Campaign.started_at.is_not(None))
        .order_by(Campaign.started_at.desc(), Campaign.id.desc())
        .limit(limit)
        .subquery()
    )
    rows = session.execute(
        select(
            Campaign.id,
            Campaign.name,
            Campaign.started_at,
            _count_if(Delivery.state == DeliveryState.sent),
            _count_if(Delivery.bounce_kind == "hard"),
            _count_if(Delivery.bounce_kind == "soft"),
            _count_if(Delivery.open_count > 0),
            _count_if(Delivery.first_clicked_at.is_not(None)),
            _count_if(Delivery.unsubscribed_at.is_not(None)),
            _count_if(Delivery.complained_at.is_not(None)),
        )
        .join(latest, latest.c.id == Campaign.id)
        .outerjoin(Delivery, Delivery.campaign_id == Campaign.id)
        .group_by(Campaign.id, Campaign.name, Campaign.started_at)
        .order_by(Campaign.started_at, Campaign.id)
    )
    return [CampaignRow(i, name, at, *(int(v) for v in rest)) for i, name, at, *rest in rows]


# --- the whole page and CSV ---------------------------------------------------------


@dataclass(frozen=True)
class TeamDashboard:
    scope: Scope
    summary: RangeSummary
    volume: list[DayVolume]
    agents: list[AgentRange]
    hours: BusyHours
    faq: FaqFigures
    campaigns: list[CampaignRow]


def team_dashboard(session: Session, scope: Scope, now: datetime) -> TeamDashboard:
    times = response_times(session, scope)
    return TeamDashboard(
        scope,
        range_summary(session, scope, now, times),
        ticket_volume(session, scope),
        agent_figures(session, scope, times),
        busy_hours(session, scope),
        faq_figures(session, scope),
        latest_campaigns(session),
    )


def _minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.1f}"


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _safe_cell(value: object) -> object:
    # A cell starting with = + - @ runs as a formula in spreadsheet programs.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@dataclass(frozen=True)
class CsvTable:
    columns: tuple[str, ...]
    rows: list[tuple]


def _now_table(session, scope, now) -> CsvTable:
    figures = now_figures(session, now=now, zone=scope.range.zone, mailbox_id=scope.mailbox_id)
    rows = [(f"status_{s.value}", n) for s, n in figures.by_status.items()]
    rows += [
        ("open_total", figures.open_total),
        ("unassigned", figures.unassigned),
        ("overdue", figures.overdue),
        ("waiting_on_customer", figures.waiting),
        ("new_today", figures.new_today),
        ("resolved_today", figures.resolved_today),
    ]
    return CsvTable(("figure", "value"), rows)


def _now_agents_table(session, scope, now) -> CsvTable:
    figures = now_figures(session, now=now, zone=scope.range.zone, mailbox_id=scope.mailbox_id)
    return CsvTable(
        ("agent", "open_assigned", "overdue", "replies_today", "replies_this_week"),
        [
            (a.name, a.open_assigned, a.overdue, a.replies_today, a.replies_week)
            for a in figures.agents
        ],
    )


def _summary_table(session, scope, now) -> CsvTable:
    s = range_summary(session, scope, now)
    return CsvTable(
        ("figure", "value"),
        [
            ("tickets_created", s.created),
            ("tickets_resolved", s.resolved),
            ("first_responses", s.first_response.count),
            ("first_response_median_minutes", _minutes(s.first_response.median)),
            ("first_response_p90_minutes", _minutes(s.first_response.p90)),
            ("resolution_median_minutes", _minutes(s.resolution.median)),
            ("resolution_p90_minutes", _minutes(s.resolution.p90)),
            ("sla_measured", s.sla.measured),
            ("sla_breaches", s.sla.breaches),
            ("sla_breach_rate", _ratio(s.sla.rate)),
            ("solved_tickets", s.reopen.solved),
            ("reopened_tickets", s.reopen.reopened),
            ("reopen_rate", _ratio(s.reopen.rate)),
        ],
    )


def _volume_table(session, scope, now) -> CsvTable:
    return CsvTable(
        ("day", "new", "resolved"),
        [(v.day.isoformat(), v.new, v.resolved) for v in ticket_volume(session, scope)],
    )


def _agents_table(session, scope, now) -> CsvTable:
    return CsvTable(
        (
            "agent",
            "replies",
            "resolved",
            "first_response_median_minutes",
            "first_response_p90_minutes",
            "resolution_median_minutes",
            "resolution_p90_minutes",
        ),
        [
            (
                a.name if a.user_id is not None else "(unassigned)",
                a.replies,
                a.resolved,
                _minutes(a.first_response.median),
                _minutes(a.first_response.p90),
                _minutes(a.resolution.median),
                _minutes(a.resolution.p90),
            )
            for a in agent_figures(session, scope)
        ],
    )


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _hours_table(session, scope, now) -> CsvTable:
    grid = busy_hours(session, scope).grid
    return CsvTable(
        ("weekday", *(f"{h:02d}" for h in range(24))),
        [(WEEKDAYS[d], *grid[d]) for d in range(7)],
    )


def _articles_table(pick: Callable[[FaqFigures], list[ArticleFigure]]):
    def build(session, scope, now) -> CsvTable:
        return CsvTable(
            ("article", "language", "views", "helpful", "not_helpful"),
            [
                (a.title, a.language, a.views, a.helpful, a.not_helpful)
                for a in pick(faq_figures(session, scope))
            ],
        )

    return build


def _searches_table(session, scope, now) -> CsvTable:
    return CsvTable(
        ("query", "searches", "found_nothing"),
        [
            (s.query, s.searches, s.empty_searches)
            for s in faq_figures(session, scope).empty_searches
        ],
    )


def _contacts_table(session, scope, now) -> CsvTable:
    c = contact_figures(session, scope)
    rows: list[tuple] = [("contact_form_tickets", "", c.submissions)]
    rows.append(("after_reading_the_faq", "", c.after_faq))
    rows += [("last_article_read", a.title, a.views) for a in c.articles_before]
    return CsvTable(("figure", "article", "value"), rows)


def _campaigns_table(session, scope=None, now=None) -> CsvTable:
    return CsvTable(
        (
            "campaign",
            "started_at",
            "sent",
            "delivered",
            "human_opens",
            "open_rate",
            "clicks",
            "click_rate",
            "unsubscribes",
            "hard_bounces",
            "soft_bounces",
            "complaints",
        ),
        [
            (
                c.name,
                c.started_at.isoformat() if c.started_at else "",
                c.sent,
                c.delivered,
                c.human_opens,
                _ratio(c.open_rate),
                c.clicks,
                _ratio(c.click_rate),
                c.unsubscribes,
                c.hard_bounces,
                c.soft_bounces,
                c.complaints,
            )
            for c in latest_campaigns(session)
        ],
    )


TEAM_TABLES: dict[str, Callable[[Session, Scope, datetime], CsvTable]] = {
    "now": _now_table,
    "now-agents": _now_agents_table,
    "summary": _summary_table,
    "volume": _volume_table,
    "agents": _agents_table,
    "hours": _hours_table,
    "faq-viewed": _articles_table(lambda f: f.most_viewed),
    "faq-helpful": _articles_table(lambda f: f.most_helpful),
    "faq-unhelpful": _articles_table(lambda f: f.least_helpful),
    "faq-searches": _searches_table,
    "faq-contacts": _contacts_table,
}


class UnknownTable(LookupError):
    pass


def to_csv(table: CsvTable) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.columns)
    writer.writerows([_safe_cell(cell) for cell in row] for row in table.rows)
    return buffer.getvalue()


def export_csv(session: Session, name: str, scope: Scope, now: datetime) -> str:
    """One of TEAM_TABLES as CSV text; raises UnknownTable."""
    build = TEAM_TABLES.get(name)
    if build is None:
        raise UnknownTable(name)
    return to_csv(build(session, scope, now))


def campaigns_csv(session: Session) -> str:
    return to_csv(_campaigns_table(session))
