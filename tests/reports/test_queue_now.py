"""The live queue: counts by status, unassigned, overdue, today's work, per agent."""

from __future__ import annotations

from helpdesk.reports import queue_now
from helpdesk.tickets.models import MessageKind, TicketStatus
from tests.factories import make_mailbox, make_user
from tests.reports.support import SEOUL, minutes, reply, ticket, utc

# Wednesday 2026-03-04 12:00 in Seoul (UTC+9): "today" began at 2026-03-03 15:00 UTC and
# the week on Monday 2026-03-02 00:00 Seoul = 2026-03-01 15:00 UTC.
NOW = utc(2026, 3, 4, 3, 0)
TODAY = utc(2026, 3, 3, 15, 0)
WEEK = utc(2026, 3, 1, 15, 0)


def _seed(session):
    ana = make_user(session, email="ana@example.com", name="Ana")
    ben = make_user(session, email="ben@example.com", name="Ben")
    box = make_mailbox(session)
    # Open work; two are overdue (due before NOW).
    ticket(session, TODAY, n=1, status="new", mailbox_id=box.id, response_due_at=NOW - minutes(60))
    ticket(session, TODAY - minutes(1), n=2, status="open", assignee_id=ana.id,
           response_due_at=NOW + minutes(60))  # fmt: skip
    ticket(session, WEEK, n=3, status="open", assignee_id=ana.id, response_due_at=NOW - minutes(1))
    ticket(session, WEEK, n=4, status="waiting", assignee_id=ben.id)
    # Done: one resolved at the first instant of today, one a minute before.
    ticket(session, WEEK, n=5, status="resolved", assignee_id=ben.id, resolved_at=TODAY)
    ticket(session, WEEK, n=6, status="closed", resolved_at=TODAY - minutes(1),
           closed_at=TODAY)  # fmt: skip
    # Replies: Ana one today and one on Monday 00:00 (this week), one on Sunday 23:59
    # (last week); Ben one today and an internal note that is no reply.
    done = ticket(session, WEEK, n=7, status="closed")
    reply(session, done, ana, TODAY)
    reply(session, done, ana, WEEK)
    reply(session, done, ana, WEEK - minutes(1))
    reply(session, done, ben, NOW - minutes(60))
    reply(session, done, ben, NOW - minutes(30), kind=MessageKind.note)
    return ana, ben, box


def test_now_figures_counted_by_hand(session):
    ana, ben, _box = _seed(session)
    figures = queue_now.now_figures(session, now=NOW, zone=SEOUL)
    assert figures.by_status == {
        TicketStatus.new: 1,
        TicketStatus.open: 2,
        TicketStatus.waiting: 1,
    }
    assert figures.open_total == 4
    assert figures.unassigned == 1
    assert figures.overdue == 2
    assert figures.waiting == 1
    assert figures.new_today == 1  # created at 00:00 Seoul; the one at 23:59 was yesterday
    assert figures.resolved_today == 1
    by_name = {a.name: a for a in figures.agents}
    assert (by_name["Ana"].open_assigned, by_name["Ana"].overdue) == (2, 1)
    assert (by_name["Ana"].replies_today, by_name["Ana"].replies_week) == (1, 2)
    assert (by_name["Ben"].open_assigned, by_name["Ben"].overdue) == (1, 0)
    assert (by_name["Ben"].replies_today, by_name["Ben"].replies_week) == (1, 1)
    # Who needs help comes first: overdue work, then the most open tickets.
    assert figures.agents[0].name == "Ana"


def test_now_figures_for_one_mailbox(session):
    _ana, _ben, box = _seed(session)
    figures = queue_now.now_figures(session, now=NOW, zone=SEOUL, mailbox_id=box.id)
    assert (figures.open_total, figures.unassigned, figures.overdue) == (1, 1, 1)
    assert figures.new_today == 1 and figures.resolved_today == 0
    assert all(a.replies_today == 0 for a in figures.agents)


def test_now_figures_of_an_empty_helpdesk(session):
    figures = queue_now.now_figures(session, now=NOW, zone=SEOUL)
    assert figures.open_total == 0
    assert (figures.unassigned, figures.overdue, figures.new_today, figures.resolved_today) == (
        0,
        0,
        0,
        0,
    )
    assert figures.agents == []
