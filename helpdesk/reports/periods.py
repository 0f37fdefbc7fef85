"""The date range and mailbox the dashboard's figures cover, read from the page's filter.

A range is whole days in the viewer's time zone, converted to UTC instants once, so the
queries compare plain timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.input_bounds import bounded_int
from helpdesk.mail.models import Mailbox
from helpdesk.text import LazyText
from helpdesk.text import lazy_text as _l

DEFAULT_RANGE_DAYS = 30
MAX_RANGE_DAYS = 366


class DashboardInputError(ValueError):
    """Refused filter values; `errors` maps a field to a message. Nothing was read."""

    def __init__(self, errors: dict[str, LazyText]):
        super().__init__("; ".join(str(m) for m in errors.values()))
        self.errors = errors


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
        number = bounded_int(raw_mailbox)
        if number is None:
            errors["mailbox"] = _l("Choose a mailbox from the list.")
        elif session.get(Mailbox, number) is None:
            errors["mailbox"] = _l("This mailbox does not exist.")
        else:
            mailbox_id = number
    if errors:
        raise DashboardInputError(errors)
    return Scope(DateRange(first, last, zone), mailbox_id)


def mailbox_choices(session: Session) -> list[tuple[int, str]]:
    return [
        tuple(row)
        for row in session.execute(select(Mailbox.id, Mailbox.name).order_by(Mailbox.name))
    ]
