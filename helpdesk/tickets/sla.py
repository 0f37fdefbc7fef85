"""Response targets: which target applies to a ticket, and when our next answer is due.

Ingest calls `apply_sla` after a customer message, the reply path after an agent's
answer and after a priority change; the Overdue view is `response_due_at < now`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.db import chunks
from helpdesk.mail.models import Mailbox
from helpdesk.text import lazy_text as _l
from helpdesk.tickets.models import (
    DONE_STATUSES,
    Message,
    MessageKind,
    Priority,
    SLAPolicy,
    Ticket,
)

DEFAULT_FIRST_RESPONSE_MINUTES = 4 * 60
DEFAULT_NEXT_RESPONSE_MINUTES = 24 * 60
MAX_TARGET_MINUTES = 90 * 24 * 60
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class SLAInvalid(ValueError):
    """Refused settings; `errors` maps a field name to a message for the form."""

    def __init__(self, errors: dict[str, object]):
        super().__init__("; ".join(str(e) for e in errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class Targets:
    first_response_minutes: int
    next_response_minutes: int


DEFAULT_TARGETS = Targets(DEFAULT_FIRST_RESPONSE_MINUTES, DEFAULT_NEXT_RESPONSE_MINUTES)


@dataclass(frozen=True)
class BusinessHours:
    """Working time in a zone: weekdays (0 = Monday) and one daily window."""

    timezone: str
    days: tuple[int, ...]
    start: time
    end: time

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def as_json(self) -> dict:
        return {
            "timezone": self.timezone,
            "days": list(self.days),
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
        }


def parse_business_hours(timezone: str, days, start: str, end: str) -> BusinessHours:
    """Validated business hours from form or JSON values; raises SLAInvalid."""
    errors: dict[str, str] = {}
    timezone = (timezone or "").strip()
    if timezone not in available_timezones():
        errors["timezone"] = _l("Unknown time zone “%(zone)s”.", zone=timezone[:64])
    try:
        day_set = sorted({int(d) for d in days})
    except (TypeError, ValueError):
        day_set = []
    if not day_set or any(d < 0 or d > 6 for d in day_set):
        errors["days"] = _l("Pick at least one working day.")
    clocks = {}
    for name, raw in (("start", start), ("end", end)):
        match = _CLOCK.match((raw or "").strip())
        if match is None:
            errors[name] = _l("Use a time like 09:00.")
        else:
            clocks[name] = time(int(match[1]), int(match[2]))
    if len(clocks) == 2 and clocks["start"] >= clocks["end"]:
        errors["end"] = _l("The day must end after it starts.")
    if errors:
        raise SLAInvalid(errors)
    return BusinessHours(timezone, tuple(day_set), clocks["start"], clocks["end"])


def business_hours_of(mailbox: Mailbox | None) -> BusinessHours | None:
    raw = mailbox.business_hours if mailbox is not None else None
    if not raw:
        return None
    try:
        return parse_business_hours(raw["timezone"], raw["days"], raw["start"], raw["end"])
    except (KeyError, TypeError, SLAInvalid, ZoneInfoNotFoundError):
        # A broken stored value must not stop ingest; count wall-clock time instead.
        return None


def add_working_minutes(start: datetime, minutes: int, hours: BusinessHours | None) -> datetime:
    """`start` plus `minutes` of working time, in UTC; nights, days off, DST gaps do not count."""
    if hours is None:
        return start + timedelta(minutes=minutes)
    zone = hours.zone
    remaining = timedelta(minutes=minutes)
    # Python subtracts two datetimes of the same zone in wall-clock time, so all the
    # arithmetic happens in UTC.
    cursor = start.astimezone(UTC)
    day = start.astimezone(zone).date() - timedelta(days=1)
    # Each window is built from local wall-clock times and compared in absolute time,
    # so a day with a DST change is exactly as long as it really is.
    for _ in range(400 * 7):
        day += timedelta(days=1)
        if day.weekday() not in hours.days:
            continue
        opens, closes = _window(day, hours, zone)
        if closes <= cursor:
            continue
        begin = max(cursor, opens)
        available = closes - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
        cursor = closes
    raise SLAInvalid({"days": _l("Business hours leave no working time.")})


def _window(day: date, hours: BusinessHours, zone: ZoneInfo) -> tuple[datetime, datetime]:
    opens = datetime.combine(day, hours.start, tzinfo=zone).astimezone(UTC)
    closes = datetime.combine(day, hours.end, tzinfo=zone).astimezone(UTC)
    return opens, closes


def targets_for(session: Session, mailbox_id: int | None, priority: Priority) -> Targets:
    """The mailbox's policy for that priority, else the default policy, else built-in."""
    policies = session.scalars(
        select(SLAPolicy).where(
            SLAPolicy.priority == priority,
            (SLAPolicy.mailbox_id == mailbox_id) | SLAPolicy.mailbox_id.is_(None),
        )
    ).all()
    chosen = sorted(policies, key=lambda p: p.mailbox_id is None)
    if not chosen:
        return DEFAULT_TARGETS
    return Targets(chosen[0].first_response_minutes, chosen[0].next_response_minutes)


def unanswered_since(session: Session, ticket: Ticket) -> datetime | None:
    """The time of the first stored customer message we have not answered, if any."""
    query = select(func.min(Message.created_at)).where(
        Message.ticket_id == ticket.id, Message.kind == MessageKind.customer
    )
    if ticket.last_agent_reply_at is not None:
        query = query.where(Message.created_at > ticket.last_agent_reply_at)
    return session.scalar(query)


def unanswered_since_by_ticket(
    session: Session, ticket_ids: list[int]
) -> dict[int, datetime | None]:
    """`unanswered_since` for many tickets in one query (ingest asks for a batch's)."""
    found = dict.fromkeys(ticket_ids)
    for chunk in chunks(sorted(ticket_ids)):
        rows = session.execute(
            select(Message.ticket_id, func.min(Message.created_at))
            .join(Ticket, Ticket.id == Message.ticket_id)
            .where(
                Message.ticket_id.in_(chunk),
                Message.kind == MessageKind.customer,
                (Ticket.last_agent_reply_at.is_(None))
                | (Message.created_at > Ticket.last_agent_reply_at),
            )
            .group_by(Message.ticket_id)
        )
        found.update((ticket_id, since) for ticket_id, since in rows)
    return found


def due_at(
    session: Session,
    ticket: Ticket,
    now: datetime,
    targets: Targets | None = None,
    waiting_since: datetime | None = None,
) -> datetime | None:
    """`targets` and `waiting_since` (the first unanswered customer message's time):
    what the caller knows already; ingest reads them once per batch."""
    if ticket.status in DONE_STATUSES or ticket.merged_into_id is not None:
        return None
    if not ticket.customer_replied_last:
        return None
    targets = targets or targets_for(session, ticket.mailbox_id, ticket.priority)
    minutes = (
        targets.first_response_minutes
        if ticket.first_response_at is None
        else targets.next_response_minutes
    )
    mailbox = session.get(Mailbox, ticket.mailbox_id) if ticket.mailbox_id else None
    # The clock runs from the first customer message we have not answered.
    since = (
        waiting_since or unanswered_since(session, ticket) or ticket.last_customer_message_at or now
    )
    return add_working_minutes(since, minutes, business_hours_of(mailbox))


def apply_sla(
    session: Session,
    ticket: Ticket,
    now: datetime,
    targets: Targets | None = None,
    waiting_since: datetime | None = None,
) -> datetime | None:
    """Set (or clear) ticket.response_due_at from who wrote last; returns the new value.

    Call it after a customer message (ingest), an agent reply, a status or priority
    change. Does not commit.
    """
    ticket.response_due_at = due_at(session, ticket, now, targets, waiting_since)
    if ticket.first_response_at is None and ticket.response_due_at is not None:
        ticket.first_response_due_at = ticket.response_due_at
    return ticket.response_due_at


# -- settings ------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyRow:
    priority: Priority
    targets: Targets
    custom: bool


def policy_rows(session: Session, mailbox_id: int | None) -> list[PolicyRow]:
    """One row per priority for the settings page, showing what applies today."""
    return [
        PolicyRow(
            priority,
            targets_for(session, mailbox_id, priority),
            session.scalar(
                select(SLAPolicy.id).where(SLAPolicy.priority == priority, _mailbox_is(mailbox_id))
            )
            is not None,
        )
        for priority in Priority
    ]


def _mailbox_is(mailbox_id: int | None):
    if mailbox_id is None:
        return SLAPolicy.mailbox_id.is_(None)
    return SLAPolicy.mailbox_id == mailbox_id


def parse_minutes(raw: str, field: str) -> int:
    """Hours as typed by an admin ("4", "1.5") to whole minutes."""
    try:
        hours = float((raw or "").strip().replace(",", "."))
    except ValueError:
        raise SLAInvalid({field: _l("Enter a number of hours, like 4 or 1.5.")}) from None
    minutes = round(hours * 60)
    if not 1 <= minutes <= MAX_TARGET_MINUTES:
        raise SLAInvalid({field: _l("Enter between 1 minute and 90 days.")})
    return minutes


def save_policies(
    session: Session,
    mailbox_id: int | None,
    targets: dict[Priority, Targets],
    hours: BusinessHours | None,
    now: datetime,
) -> int:
    """Store the targets (and business hours) and re-time the mailbox's waiting tickets.

    Returns how many tickets got a new due time. Does not commit.
    """
    mailbox = None
    if mailbox_id is not None:
        mailbox = session.get(Mailbox, mailbox_id)
        if mailbox is None:
            raise SLAInvalid({"mailbox": _l("This mailbox does not exist.")})
        mailbox.business_hours = hours.as_json() if hours else None
    for priority, value in targets.items():
        if value.first_response_minutes <= 0 or value.next_response_minutes <= 0:
            raise SLAInvalid({priority.value: _l("Targets must be positive.")})
        policy = session.scalar(
            select(SLAPolicy).where(SLAPolicy.priority == priority, _mailbox_is(mailbox_id))
        )
        if policy is None:
            policy = SLAPolicy(mailbox_id=mailbox_id, priority=priority)
            session.add(policy)
        policy.first_response_minutes = value.first_response_minutes
        policy.next_response_minutes = value.next_response_minutes
    session.flush()
    return retime_waiting_tickets(session, mailbox_id, now)


def retime_waiting_tickets(session: Session, mailbox_id: int | None, now: datetime) -> int:
    """Recompute due times of tickets that wait for us (the default policy: all of them)."""
    query = select(Ticket).where(Ticket.response_due_at.is_not(None))
    if mailbox_id is not None:
        query = query.where(Ticket.mailbox_id == mailbox_id)
    changed = 0
    for ticket in session.scalars(query).all():
        before = ticket.response_due_at
        if apply_sla(session, ticket, now) != before:
            changed += 1
    return changed
