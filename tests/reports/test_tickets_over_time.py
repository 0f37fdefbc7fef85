"""Ticket figures over a date range in the viewer's time zone, each worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from helpdesk.reports import percentiles, periods, tickets_over_time
from helpdesk.tickets.models import SLAPolicy
from tests.factories import make_mailbox, make_user
from tests.reports.support import NEW_YORK, reply, scope, ticket, utc

# Seoul is UTC+9 all year: 2026-03-02 and 2026-03-03 in Seoul are
# [2026-03-01 15:00 UTC, 2026-03-03 15:00 UTC).
RANGE = scope(date(2026, 3, 2), date(2026, 3, 3))
NOW = utc(2026, 3, 4, 0, 0)


@pytest.fixture
def seeded(session):
    ana = make_user(session, email="ana@example.com", name="Ana")
    ben = make_user(session, email="ben@example.com", name="Ben")
    other = make_mailbox(session, address="other@helpdesk.test", name="Other")
    session.add_all(
        [
            # The default policy answers normal tickets within 25 minutes; the other
            # mailbox allows 35. High priority has no policy: the built-in 240 applies.
            SLAPolicy(mailbox_id=None, priority="normal", first_response_minutes=25,
                      next_response_minutes=600),
            SLAPolicy(mailbox_id=other.id, priority="normal", first_response_minutes=35,
                      next_response_minutes=600),
        ]
    )  # fmt: skip
    session.commit()
    # Created 23:59 on 1 March in Seoul: before the range, never answered.
    ticket(session, utc(2026, 3, 1, 14, 59), n=1, status="new")
    # 2 March 00:00 Seoul: answered in 10 minutes, resolved in 60.
    ticket(session, utc(2026, 3, 1, 15, 0), n=2, assignee_id=ana.id, first_response=10,
           resolved=60)  # fmt: skip
    # 2 March 12:00 Seoul: 20 minutes, closed after 120.
    ticket(session, utc(2026, 3, 2, 3, 0), n=3, assignee_id=ana.id, first_response=20,
           resolved=120, status="closed")  # fmt: skip
    # 3 March 00:00 Seoul, in the other mailbox: 30 minutes (within its 35), still open.
    ticket(session, utc(2026, 3, 2, 15, 0), n=4, assignee_id=ben.id, mailbox_id=other.id,
           first_response=30, status="open")  # fmt: skip
    # 3 March 23:00 Seoul: answered after the range ended, so not measured.
    ticket(session, utc(2026, 3, 3, 14, 0), n=5, assignee_id=ben.id, first_response=300,
           status="waiting")  # fmt: skip
    # 3 March 01:00 Seoul: 40 minutes (late against 25), resolved after 240.
    ticket(session, utc(2026, 3, 2, 16, 0), n=7, assignee_id=ana.id, first_response=40,
           resolved=240)  # fmt: skip
    # 3 March 19:00 Seoul, high priority, unanswered 14 hours at NOW: past its 240 minutes.
    ticket(session, utc(2026, 3, 3, 10, 0), n=8, status="new", priority="high")
    # 4 March 00:00 Seoul: after the range.
    ticket(session, utc(2026, 3, 3, 15, 0), n=6, status="new")
    # Replies in the range: Ana two, Ben one; one of Ana's just after the range.
    some = ticket(session, utc(2026, 2, 1, 0, 0), n=9, status="closed")
    reply(session, some, ana, utc(2026, 3, 1, 15, 0))
    reply(session, some, ana, utc(2026, 3, 3, 14, 59))
    reply(session, some, ana, utc(2026, 3, 3, 15, 0))
    reply(session, some, ben, utc(2026, 3, 2, 0, 0))
    return ana, ben, other


def test_tickets_per_local_day(session, seeded):
    volume = tickets_over_time.ticket_volume(session, RANGE)
    assert [(v.day, v.new, v.resolved) for v in volume] == [
        (date(2026, 3, 2), 2, 2),  # tickets 2 and 3; both resolved that day
        (date(2026, 3, 3), 4, 1),  # tickets 4, 5, 7, 8; ticket 7 resolved 3 March 05:00
    ]


def test_first_response_and_resolution_median_and_90th_percentile(session, seeded):
    summary = tickets_over_time.range_summary(session, RANGE, NOW)
    assert summary.created == 6
    assert summary.resolved == 3
    # First responses in the range: 10, 20, 30, 40 minutes. Median (20 + 30) / 2 = 25;
    # p90: h = (4 - 1) * 0.9 = 2.7, so 30 + 0.7 * (40 - 30) = 37 minutes.
    assert summary.first_response.count == 4
    assert summary.first_response.median == pytest.approx(25 * 60)
    assert summary.first_response.p90 == pytest.approx(37 * 60)
    # Resolutions: 60, 120, 240. Median 120; p90: h = 1.8, 120 + 0.8 * 120 = 216.
    assert summary.resolution.median == pytest.approx(120 * 60)
    assert summary.resolution.p90 == pytest.approx(216 * 60)


def test_figures_per_agent(session, seeded):
    rows = {a.name: a for a in tickets_over_time.agent_figures(session, RANGE)}
    ana, ben = rows["Ana"], rows["Ben"]
    assert (ana.replies, ana.resolved) == (2, 3)
    # Ana's first responses 10, 20, 40: median 20; p90 h = 1.8, 20 + 0.8 * 20 = 36.
    assert ana.first_response.median == pytest.approx(20 * 60)
    assert ana.first_response.p90 == pytest.approx(36 * 60)
    assert ana.resolution.median == pytest.approx(120 * 60)
    assert (ben.replies, ben.resolved) == (1, 0)
    assert ben.first_response.median == ben.first_response.p90 == pytest.approx(30 * 60)
    assert ben.resolution.median is None


def test_sla_breaches_against_the_mailbox_then_default_then_built_in_target(session, seeded):
    sla = tickets_over_time.sla_figures(session, RANGE, NOW)
    # Answered in the range: 10, 20 (within 25), 30 (within the other mailbox's 35),
    # 40 (late). Unanswered: ticket 8, 14 h > 240 min. Ticket 1 was created before.
    assert (sla.answered, sla.answered_late, sla.unanswered_late) == (4, 1, 1)
    assert (sla.breaches, sla.measured) == (2, 5)
    assert sla.rate == pytest.approx(0.4)


def test_one_mailbox_only(session, seeded):
    _ana, _ben, other = seeded
    one = scope(date(2026, 3, 2), date(2026, 3, 3), mailbox_id=other.id)
    summary = tickets_over_time.range_summary(session, one, NOW)
    assert (summary.created, summary.resolved) == (1, 0)
    assert summary.first_response.median == pytest.approx(30 * 60)
    assert (summary.sla.measured, summary.sla.breaches) == (1, 0)
    assert [(v.new, v.resolved) for v in tickets_over_time.ticket_volume(session, one)] == [
        (0, 0),
        (1, 0),
    ]


def test_empty_range_has_zeros_and_no_rates(session, seeded):
    empty = scope(date(2025, 1, 1), date(2025, 1, 3))
    summary = tickets_over_time.range_summary(session, empty, NOW)
    assert (summary.created, summary.resolved) == (0, 0)
    assert summary.first_response == percentiles.DurationStats(0, None, None)
    assert summary.resolution.median is None and summary.resolution.p90 is None
    assert summary.sla.rate is None and summary.reopen.rate is None
    assert [(v.new, v.resolved) for v in tickets_over_time.ticket_volume(session, empty)] == [
        (0, 0)
    ] * 3
    assert tickets_over_time.busy_hours(session, empty).busiest_hour is None


def test_ten_values_interpolate_between_ranks(session):
    day = utc(2026, 5, 1, 0, 0)
    for n in range(1, 11):
        ticket(session, day, n=n, first_response=n)
    stats = tickets_over_time.range_summary(session, scope(date(2026, 5, 1), date(2026, 5, 1)), NOW)
    # 1 … 10 minutes: median (5 + 6) / 2 = 5.5; p90 h = 9 * 0.9 = 8.1, 9 + 0.1 * 1 = 9.1.
    assert stats.first_response.median == pytest.approx(5.5 * 60)
    assert stats.first_response.p90 == pytest.approx(9.1 * 60)


def test_days_and_hours_across_a_daylight_saving_change(session):
    # New York moves from UTC-5 to UTC-4 at 2026-03-08 07:00 UTC (02:00 local).
    for n, at in enumerate(
        [
            utc(2026, 3, 7, 4, 59),  # 6 March 23:59 EST: before the range
            utc(2026, 3, 7, 5, 0),  # Saturday 7 March 00:00 EST
            utc(2026, 3, 8, 6, 30),  # Sunday 01:30 EST
            utc(2026, 3, 8, 7, 30),  # Sunday 03:30 EDT
            utc(2026, 3, 10, 3, 59),  # Monday 9 March 23:59 EDT
            utc(2026, 3, 10, 4, 0),  # Tuesday 00:00 EDT: after the range
        ]
    ):
        ticket(session, at, n=n)
    span = scope(date(2026, 3, 7), date(2026, 3, 9), zone=NEW_YORK)
    assert [(v.day.day, v.new) for v in tickets_over_time.ticket_volume(session, span)] == [
        (7, 1),
        (8, 2),
        (9, 1),
    ]
    grid = tickets_over_time.busy_hours(session, span).grid
    expected = [[0] * 24 for _ in range(7)]
    expected[5][0] = 1  # Saturday 00
    expected[6][1] = 1  # Sunday 01
    expected[6][3] = 1  # Sunday 03 (02 does not exist that night)
    expected[0][23] = 1  # Monday 23
    assert grid == expected


def test_busiest_hours_in_seoul(session, seeded):
    hours = tickets_over_time.busy_hours(session, RANGE)
    # Local creation hours: 00 (tickets 2 and 4), 12, 23, 01, 19.
    assert hours.by_hour[0] == 2
    assert [hours.by_hour[h] for h in (1, 12, 19, 23)] == [1, 1, 1, 1]
    assert sum(hours.by_hour) == 6
    assert hours.busiest_hour == 0
    assert hours.grid[0][0] == 1 and hours.grid[1][0] == 1  # Monday 2nd, Tuesday 3rd


def test_half_hour_zone_days_and_hours(session):
    # Kolkata is UTC+5:30: 18:29 UTC is 23:59 there, 18:30 UTC the next midnight.
    kolkata = periods.user_zone("Asia/Kolkata")
    ticket(session, utc(2026, 3, 1, 18, 29), n=1)
    ticket(session, utc(2026, 3, 1, 18, 30), n=2)
    ticket(session, utc(2026, 3, 2, 18, 29), n=3)
    span = scope(date(2026, 3, 1), date(2026, 3, 2), zone=kolkata)
    assert [(v.day.day, v.new) for v in tickets_over_time.ticket_volume(session, span)] == [
        (1, 1),
        (2, 2),
    ]
    hours = tickets_over_time.busy_hours(session, span)
    assert hours.grid[6][23] == 1  # Sunday 1 March 23:59
    assert hours.grid[0][0] == 1  # Monday 2 March 00:00
    assert hours.grid[0][23] == 1  # Monday 2 March 23:59
    assert sum(hours.by_hour) == 3


def test_durations_on_sqlite_without_unixepoch(session, monkeypatch):
    from sqlite3 import dbapi2

    # SQLite before 3.38 has no unixepoch(); julianday() gives the same seconds.
    monkeypatch.setattr(dbapi2, "sqlite_version_info", (3, 37, 2))
    day = utc(2026, 5, 1, 0, 0)
    for n, after in enumerate((1, 2, 4), start=1):
        ticket(session, day, n=n, first_response=after)
    stats = tickets_over_time.range_summary(session, scope(date(2026, 5, 1), date(2026, 5, 1)), NOW)
    # 1, 2, 4 minutes: median 2; p90 h = 1.8, 2 + 0.8 * 2 = 3.6.
    assert stats.first_response.median == pytest.approx(2 * 60)
    assert stats.first_response.p90 == pytest.approx(3.6 * 60)


def test_a_first_response_in_time_counting_business_hours_is_no_breach(session):
    office = make_mailbox(
        session,
        business_hours={"timezone": "Asia/Seoul", "days": [0, 1, 2, 3, 4], "start": "09:00",
                        "end": "18:00"},
    )  # fmt: skip
    session.add(SLAPolicy(mailbox_id=None, priority="normal", first_response_minutes=30,
                          next_response_minutes=600))  # fmt: skip
    session.commit()
    # Friday 17:50 in Seoul; 10 minutes of the target that day, 20 on Monday: due 09:20.
    # Answered Monday 09:10, more than two days later in wall-clock time.
    friday = utc(2026, 3, 6, 8, 50)
    ticket(session, friday, n=1, mailbox_id=office.id, first_response=(2 * 24 + 15) * 60 + 20)
    # The same weekend, answered Monday 09:30: ten minutes late.
    ticket(session, friday, n=2, mailbox_id=office.id, first_response=(2 * 24 + 15) * 60 + 40)

    sla = tickets_over_time.sla_figures(session, scope(date(2026, 3, 6), date(2026, 3, 9)), NOW)

    assert (sla.answered, sla.answered_late) == (2, 1)
