"""Campaign reports: delivery and engagement figures computed by SQL aggregates, opens and
clicks over time as an SVG chart, clicks per link, a comparison by segment, a CSV export,
and the campaign entries of each customer's timeline."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from helpdesk import charts
from helpdesk.campaigns.models import (
    Campaign,
    CampaignLink,
    ClickEvent,
    Delivery,
    DeliveryState,
    OpenEvent,
    Segment,
    Suppression,
    SuppressionReason,
)
from helpdesk.customers.timeline import (
    Older,
    TimelineEntry,
    is_older,
    older_than,
    register_source,
    shorten,
)
from helpdesk.mail.models import DeliveryProblem, DeliveryProblemKind
from helpdesk.text import lazy_ngettext
from helpdesk.text import lazy_text as _l
from helpdesk.tickets.customer_campaigns import register_recent_campaigns


class ReportNotFound(LookupError):
    """No campaign with that id."""


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclass(frozen=True)
class CampaignFigures:
    """How many recipients are in each delivery state, and what became of the sent ones.

    `pending`, `sending`, `sent`, `failed`, `uncertain` and `skipped` are the delivery
    states, each counted on its own: together they add up to `recipients`. `stalled` is
    the part of `sending` claimed longer ago than the lease, by a worker that has most
    likely died; they become uncertain when a worker next checks.
    """

    recipients: int
    pending: int
    sending: int
    stalled: int
    sent: int
    failed: int
    uncertain: int
    skipped: int
    hard_bounces: int
    soft_bounces: int
    human_opens: int
    machine_opens: int
    unique_clicks: int
    unsubscribes: int
    complaints: int
    # Held back by the frequency cap or quiet hours: deferred ones were or will be sent
    # later (counted under their state as well), skipped ones are the `skipped` for it.
    deferred_by_cap: int = 0
    deferred_by_quiet_hours: int = 0
    skipped_by_cap: int = 0
    skipped_by_quiet_hours: int = 0

    @property
    def held_back(self) -> int:
        return (
            self.deferred_by_cap
            + self.deferred_by_quiet_hours
            + self.skipped_by_cap
            + self.skipped_by_quiet_hours
        )

    @property
    def delivered(self) -> int:
        return max(0, self.sent - self.hard_bounces - self.soft_bounces)

    @property
    def handled(self) -> int:
        """Recipients whose delivery has reached its end: no worker will touch them again."""
        return self.sent + self.failed + self.uncertain + self.skipped

    def rate(self, value: int, base: int | None = None) -> float:
        """A share of the delivered messages (or of `base`), 0.0 when there is none."""
        base = self.delivered if base is None else base
        return value / base if base else 0.0

    @property
    def progress(self) -> float:
        return self.handled / self.recipients if self.recipients else 1.0


def _figures_columns(stalled_before: datetime | None):
    state = Delivery.state
    stalled = (
        _count_if((state == DeliveryState.sending) & (Delivery.claimed_at < stalled_before))
        if stalled_before is not None
        else literal(0)
    )
    return (
        func.count(Delivery.id),
        _count_if(state == DeliveryState.pending),
        _count_if(state == DeliveryState.sending),
        stalled,
        _count_if(state == DeliveryState.sent),
        _count_if(state == DeliveryState.failed),
        _count_if(state == DeliveryState.uncertain),
        _count_if(state == DeliveryState.skipped),
        _count_if(Delivery.bounce_kind == "hard"),
        _count_if(Delivery.bounce_kind == "soft"),
        _count_if(Delivery.open_count > 0),
        _count_if((Delivery.machine_open_count > 0) & (Delivery.open_count == 0)),
        _count_if(Delivery.first_clicked_at.is_not(None)),
        _count_if(Delivery.unsubscribed_at.is_not(None)),
        _count_if(Delivery.complained_at.is_not(None)),
        _count_if(Delivery.held_by_cap & (state != DeliveryState.skipped)),
        _count_if(Delivery.held_by_quiet_hours & (state != DeliveryState.skipped)),
        _count_if(Delivery.held_by_cap & (state == DeliveryState.skipped)),
        # A skipping campaign skips at the first hold, so a delivery skipped for quiet
        # hours was never held by the cap.
        _count_if(
            Delivery.held_by_quiet_hours & ~Delivery.held_by_cap & (state == DeliveryState.skipped)
        ),
    )


def campaign_figures(
    session: Session, campaign_id: int, *, stalled_before: datetime | None = None
) -> CampaignFigures:
    """One aggregate query over the campaign's deliveries.

    Human opens count recipients with at least one human open; machine opens count those
    opened only by proxies or prefetchers, so the two never overlap. Deliveries in
    `sending` claimed before `stalled_before` (now minus the lease) count as stalled too.
    """
    row = session.execute(
        select(*_figures_columns(stalled_before)).where(Delivery.campaign_id == campaign_id)
    ).one()
    return CampaignFigures(*(int(value or 0) for value in row))


@dataclass(frozen=True)
class LinkClicks:
    url: str
    clicks: int
    unique_clicks: int


def clicks_per_link(session: Session, campaign_id: int) -> list[LinkClicks]:
    rows = session.execute(
        select(
            CampaignLink.url,
            func.count(ClickEvent.id),
            func.count(func.distinct(ClickEvent.delivery_id)),
        )
        .outerjoin(ClickEvent, ClickEvent.link_id == CampaignLink.id)
        .where(CampaignLink.campaign_id == campaign_id)
        .group_by(CampaignLink.id, CampaignLink.url, CampaignLink.position)
        .order_by(CampaignLink.position)
    )
    return [LinkClicks(url, clicks, unique) for url, clicks, unique in rows]


@dataclass(frozen=True)
class TimeSeries:
    starts: list[datetime]
    opens: list[int]
    clicks: list[int]
    bucket: timedelta


def _bucket_expression(session: Session, column, hourly: bool):
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour" if hourly else "day", column)
    return func.strftime("%Y-%m-%d %H:00:00" if hourly else "%Y-%m-%d 00:00:00", column)


def _parse_bucket(value) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.fromisoformat(value)


def activity_over_time(session: Session, campaign_id: int) -> TimeSeries:
    """Human opens and clicks per hour for the first three days after sending began,
    per day after that; grouped in SQL."""
    started = session.scalar(select(Campaign.started_at).where(Campaign.id == campaign_id))
    last = session.scalar(
        select(func.max(OpenEvent.at))
        .join(Delivery, Delivery.id == OpenEvent.delivery_id)
        .where(Delivery.campaign_id == campaign_id)
    )
    if started is None:
        return TimeSeries([], [], [], timedelta(hours=1))
    hourly = last is None or last - started <= timedelta(days=3)
    bucket = timedelta(hours=1) if hourly else timedelta(days=1)
    counts: dict[str, dict[datetime, int]] = {"opens": {}, "clicks": {}}
    for name, model, extra in (
        ("opens", OpenEvent, (OpenEvent.is_machine.is_(False),)),
        ("clicks", ClickEvent, ()),
    ):
        slot = _bucket_expression(session, model.at, hourly)
        rows = session.execute(
            select(slot, func.count())
            .join(Delivery, Delivery.id == model.delivery_id)
            .where(Delivery.campaign_id == campaign_id, *extra)
            .group_by(slot)
        )
        counts[name] = {_parse_bucket(value): n for value, n in rows}
    keys = sorted(set(counts["opens"]) | set(counts["clicks"]))
    if not keys:
        return TimeSeries([], [], [], bucket)
    starts = []
    moment = keys[0]
    while moment <= keys[-1] and len(starts) < 400:
        starts.append(moment)
        moment += bucket
    return TimeSeries(
        starts,
        [counts["opens"].get(s, 0) for s in starts],
        [counts["clicks"].get(s, 0) for s in starts],
        bucket,
    )


def svg_chart(series: TimeSeries, *, title: str, labels: tuple[str, str]) -> str:
    """Opens and clicks over time as a line chart (helpdesk.charts draws it)."""
    fmt = "%Y-%m-%d %H:%M" if series.bucket < timedelta(days=1) else "%Y-%m-%d"
    return charts.line_chart(
        [s.strftime(fmt) for s in series.starts],
        [charts.Series(labels[0], series.opens), charts.Series(labels[1], series.clicks)],
        title=title,
        x_title="UTC",
        y_title="#",
    )


@dataclass(frozen=True)
class ReceivedCampaign:
    campaign_id: int
    name: str
    sent_at: datetime
    opened: bool  # by a person: machine opens do not count
    clicked: bool


def campaigns_received(
    session: Session, customer_id: int, limit: int = 3
) -> list[ReceivedCampaign]:
    """The latest campaigns sent to a customer and what they did with them (ticket page)."""
    rows = session.execute(
        select(
            Campaign.id,
            Campaign.name,
            Delivery.sent_at,
            Delivery.first_opened_at.is_not(None),
            Delivery.first_clicked_at.is_not(None),
        )
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(Delivery.customer_id == customer_id, Delivery.sent_at.is_not(None))
        .order_by(Delivery.sent_at.desc(), Delivery.id.desc())
        .limit(limit)
    )
    return [ReceivedCampaign(*row) for row in rows]


register_recent_campaigns(campaigns_received)


@dataclass(frozen=True)
class CampaignComparison:
    campaign_id: int
    name: str
    segment_name: str
    figures: CampaignFigures


def segment_comparison(
    session: Session, campaign_id: int, limit: int = 20
) -> list[CampaignComparison]:
    """This campaign and the latest others, with their segments, in one grouped query."""
    rows = session.execute(
        select(
            Campaign.id,
            Campaign.name,
            func.coalesce(Segment.name, ""),
            *_figures_columns(None),
        )
        .join(Delivery, Delivery.campaign_id == Campaign.id)
        .outerjoin(Segment, Segment.id == Campaign.segment_id)
        .group_by(Campaign.id, Campaign.name, Segment.name)
        .order_by((Campaign.id == campaign_id).desc(), Campaign.id.desc())
        .limit(limit)
    )
    return [
        CampaignComparison(row[0], row[1], row[2], CampaignFigures(*(int(v or 0) for v in row[3:])))
        for row in rows
    ]


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise ReportNotFound(campaign_id)
    return campaign


CSV_COLUMNS = (
    "email",
    "state",
    "attempts",
    "sent_at",
    "last_error",
    "human_opens",
    "machine_opens",
    "first_opened_at",
    "clicks",
    "first_clicked_at",
    "bounce",
    "complained_at",
    "unsubscribed_at",
)


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _safe_cell(value: str) -> str:
    # A cell starting with = + - @ runs as a formula in spreadsheet programs.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def deliveries_csv(session: Session, campaign_id: int) -> Iterator[str]:
    """One row per recipient, in chunks of text; rows are read 1,000 at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    rows = session.execute(
        select(Delivery)
        .where(Delivery.campaign_id == campaign_id)
        .order_by(Delivery.id)
        .execution_options(yield_per=1000)
    ).scalars()
    for n, d in enumerate(rows, start=1):
        writer.writerow(
            [
                _safe_cell(d.email),
                d.state.value,
                d.attempts,
                _iso(d.sent_at),
                _safe_cell(d.last_error),
                d.open_count,
                d.machine_open_count,
                _iso(d.first_opened_at),
                d.click_count,
                _iso(d.first_clicked_at),
                d.bounce_kind,
                _iso(d.complained_at),
                _iso(d.unsubscribed_at),
            ]
        )
        if n % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# --- the customer's timeline ------------------------------------------------------------

_PROBLEM_TITLES = {
    DeliveryProblemKind.hard_bounce: _l("Hard bounce"),
    DeliveryProblemKind.soft_bounce: _l("Soft bounce"),
    DeliveryProblemKind.complaint: _l("Marked a newsletter as spam"),
}
_SUPPRESSION_TITLES = {
    SuppressionReason.unsubscribed: _l("No more campaigns: unsubscribed"),
    SuppressionReason.hard_bounce: _l("No more campaigns: the address bounced"),
    SuppressionReason.soft_bounces: _l("No more campaigns: repeated soft bounces"),
    SuppressionReason.complaint: _l("No more campaigns: spam complaint"),
    SuppressionReason.manual: _l("No more campaigns: suppressed by hand"),
}


def _delivery_entries(
    session: Session,
    customer_id: int,
    limit: int,
    older: Older,
    *,
    at,
    where=(),
    entry,
) -> list[TimelineEntry]:
    """One kind of moment in the customer's deliveries (sent, opened, ...): the newest
    `limit` by that moment, older than the keyset."""
    rows = session.execute(
        select(Delivery, Campaign.name, at.label("at"))
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(
            Delivery.customer_id == customer_id,
            at.is_not(None),
            *where,
            older_than(at, Delivery.id, older),
        )
        .order_by(at.desc(), Delivery.id.desc())
        .limit(limit)
    )
    return [
        TimelineEntry(row.at, "campaign", *entry(row.Delivery, row.name), id=row.Delivery.id)
        for row in rows
    ]


def _sent(session: Session, customer_id: int, limit: int, older: Older) -> list[TimelineEntry]:
    return _delivery_entries(
        session, customer_id, limit, older,
        at=Delivery.sent_at,
        entry=lambda d, name: (_l("Sent campaign %(name)s", name=name),),
    )  # fmt: skip


def _not_delivered(
    session: Session, customer_id: int, limit: int, older: Older
) -> list[TimelineEntry]:
    return _delivery_entries(
        session, customer_id, limit, older,
        at=func.coalesce(Delivery.claimed_at, Delivery.sent_at),
        where=(Delivery.state.in_((DeliveryState.failed, DeliveryState.uncertain)),),
        entry=lambda d, name: (
            _l("Campaign %(name)s was not delivered", name=name),
            shorten(d.last_error),
        ),
    )  # fmt: skip


def _opened(session: Session, customer_id: int, limit: int, older: Older) -> list[TimelineEntry]:
    return _delivery_entries(
        session, customer_id, limit, older,
        at=Delivery.first_opened_at,
        entry=lambda d, name: (
            _l("Opened %(name)s", name=name),
            lazy_ngettext("%(num)d open", "%(num)d opens", d.open_count),
        ),
    )  # fmt: skip


def _clicked(session: Session, customer_id: int, limit: int, older: Older) -> list[TimelineEntry]:
    return _delivery_entries(
        session, customer_id, limit, older,
        at=Delivery.first_clicked_at,
        entry=lambda d, name: (
            _l("Clicked a link in %(name)s", name=name),
            lazy_ngettext("%(num)d click", "%(num)d clicks", d.click_count),
        ),
    )  # fmt: skip


def _unsubscribed(
    session: Session, customer_id: int, limit: int, older: Older
) -> list[TimelineEntry]:
    return _delivery_entries(
        session, customer_id, limit, older,
        at=Delivery.unsubscribed_at,
        entry=lambda d, name: (_l("Unsubscribed through %(name)s", name=name),),
    )  # fmt: skip


def _problem_entries(
    session: Session, customer_id: int, limit: int, older: Older
) -> list[TimelineEntry]:
    problems = session.scalars(
        select(DeliveryProblem)
        .where(
            DeliveryProblem.customer_id == customer_id,
            older_than(DeliveryProblem.created_at, DeliveryProblem.id, older),
        )
        .order_by(DeliveryProblem.created_at.desc(), DeliveryProblem.id.desc())
        .limit(limit)
    )
    return [
        TimelineEntry(
            p.created_at,
            "bounce",
            _PROBLEM_TITLES[p.kind],
            shorten(" ".join(part for part in (p.status_code, p.diagnostic) if part)),
            id=p.id,
        )
        for p in problems
    ]


def _suppression_entries(
    session: Session, customer_id: int, limit: int, older: Older
) -> list[TimelineEntry]:
    # Keyed by address, not by a row id, and a customer has one or two: all of them are
    # read and numbered oldest first, which stays the same from one page to the next.
    rows = session.scalars(
        select(Suppression)
        .where(Suppression.customer_id == customer_id)
        .order_by(Suppression.created_at, Suppression.email)
    )
    entries = [
        TimelineEntry(
            s.created_at, "suppression", _SUPPRESSION_TITLES[s.reason], shorten(s.detail), id=n
        )
        for n, s in enumerate(rows, start=1)
    ]
    return [e for e in reversed(entries) if is_older(e, older)][:limit]


register_source("campaign", _sent)
register_source("campaign", _not_delivered, part="campaign_not_delivered")
register_source("campaign", _opened, part="campaign_opened")
register_source("campaign", _clicked, part="campaign_clicked")
register_source("campaign", _unsubscribed, part="campaign_unsubscribed")
register_source("delivery_problem", _problem_entries)
register_source("suppression", _suppression_entries)
