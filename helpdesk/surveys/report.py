"""CSAT figures for the dashboard: the share of good ratings per agent, per mailbox and
per week of the chosen range, with the latest comments."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.auth.models import User
from helpdesk.mail.models import Mailbox
from helpdesk.reports.periods import Scope
from helpdesk.surveys.models import Rating, Survey
from helpdesk.tickets.models import Ticket

LATEST_COMMENTS = 20


@dataclass
class Tally:
    good: int = 0
    ok: int = 0
    bad: int = 0

    def add(self, rating: Rating) -> None:
        setattr(self, rating.value, getattr(self, rating.value) + 1)

    @property
    def rated(self) -> int:
        return self.good + self.ok + self.bad

    @property
    def csat(self) -> float | None:
        """Good ratings as a share of all ratings (the usual CSAT score), None without any."""
        return self.good / self.rated if self.rated else None


@dataclass(frozen=True)
class Row:
    label: str
    tally: Tally


@dataclass(frozen=True)
class Comment:
    ticket_id: int
    subject: str
    rating: Rating
    comment: str
    at: datetime


@dataclass
class CsatReport:
    total: Tally = field(default_factory=Tally)
    sent: int = 0
    by_agent: list[Row] = field(default_factory=list)
    by_mailbox: list[Row] = field(default_factory=list)
    by_week: list[Row] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)

    @property
    def response_rate(self) -> float | None:
        return self.total.rated / self.sent if self.sent else None


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def csat_report(session: Session, scope: Scope, *, unassigned: str) -> CsatReport:
    """Ratings given in the scope's days (in its zone), of surveys of its mailbox (all
    when None); `unassigned` labels ratings of tickets nobody was assigned."""
    r = scope.range
    conditions = [Survey.rated_at >= r.start, Survey.rated_at < r.end]
    if scope.mailbox_id is not None:
        conditions.append(Survey.mailbox_id == scope.mailbox_id)
    report = CsatReport()
    report.sent = len(
        session.scalars(
            select(Survey.id).where(
                Survey.sent_at >= r.start,
                Survey.sent_at < r.end,
                *([Survey.mailbox_id == scope.mailbox_id] if scope.mailbox_id else []),
            )
        ).all()
    )
    agents: dict[str, Tally] = defaultdict(Tally)
    mailboxes: dict[str, Tally] = defaultdict(Tally)
    weeks: dict[date, Tally] = {_week_start(d): Tally() for d in r.days}
    rows = session.execute(
        select(
            Survey.rating,
            Survey.rated_at,
            Survey.comment,
            Survey.ticket_id,
            User.name.label("agent"),
            Mailbox.name.label("mailbox"),
            Ticket.subject,
        )
        .join(Ticket, Ticket.id == Survey.ticket_id)
        .outerjoin(User, User.id == Survey.agent_id)
        .outerjoin(Mailbox, Mailbox.id == Survey.mailbox_id)
        .where(*conditions, Survey.rating.is_not(None))
        .order_by(Survey.rated_at.desc(), Survey.id.desc())
    )
    for row in rows:
        report.total.add(row.rating)
        agents[row.agent or unassigned].add(row.rating)
        mailboxes[row.mailbox or "–"].add(row.rating)
        weeks[_week_start(row.rated_at.astimezone(r.zone).date())].add(row.rating)
        if row.comment and len(report.comments) < LATEST_COMMENTS:
            report.comments.append(
                Comment(row.ticket_id, row.subject, row.rating, row.comment, row.rated_at)
            )
    report.by_agent = [Row(name, t) for name, t in sorted(agents.items())]
    report.by_mailbox = [Row(name, t) for name, t in sorted(mailboxes.items())]
    report.by_week = [Row(week.isoformat(), t) for week, t in sorted(weeks.items())]
    return report
