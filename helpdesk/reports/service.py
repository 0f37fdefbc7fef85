"""The manager dashboard as its pages ask for it: the whole page's figures and each of its
tables as CSV.

The figures come from the modules beside this one: periods (what a figure covers), queue_now,
tickets_over_time, help_centre and campaign_figures. Every figure is one SQL aggregate (counts,
sums, percentiles) over the tables; nothing loops over ticket or message rows in Python.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from helpdesk.reports.campaign_figures import CampaignRow, latest_campaigns
from helpdesk.reports.help_centre import ArticleFigure, FaqFigures, contact_figures, faq_figures
from helpdesk.reports.periods import Scope
from helpdesk.reports.queue_now import now_figures
from helpdesk.reports.tickets_over_time import (
    AgentRange,
    BusyHours,
    DayVolume,
    RangeSummary,
    agent_figures,
    busy_hours,
    range_summary,
    response_times,
    ticket_volume,
)


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
        ("query", "searches", "found_nothing", "nothing_opened"),
        [
            (s.query, s.searches, s.empty_searches, s.unopened_searches)
            for s in faq_figures(session, scope).unanswered_searches
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
