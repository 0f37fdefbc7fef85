"""SQL the dashboard's figures share: a scope as conditions, conditional counts, the support
team, and the local day, hour and weekday of a UTC timestamp on both databases."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, case, cast, func, literal, select
from sqlalchemy.orm import Session

from helpdesk.auth.models import Role, User
from helpdesk.db import UTCDateTime
from helpdesk.reports.periods import Scope
from helpdesk.tickets.models import Ticket


def _in_mailbox(mailbox_id: int | None):
    return Ticket.mailbox_id == mailbox_id if mailbox_id is not None else literal(True)


def _tickets_in_scope(scope: Scope):
    return and_(Ticket.merged_into_id.is_(None), _in_mailbox(scope.mailbox_id))


def _between(column, scope: Scope):
    return (column >= scope.range.start) & (column < scope.range.end)


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _support_users(session: Session, extra_ids: Iterable[int]) -> list[User]:
    """Active agents and admins, and anyone else who holds tickets or replied."""
    extra = [i for i in extra_ids if i is not None]
    condition = User.is_active & User.role.in_((Role.admin, Role.agent))
    if extra:
        condition = condition | User.id.in_(extra)
    return list(session.scalars(select(User).where(condition).order_by(User.name, User.id)))


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
