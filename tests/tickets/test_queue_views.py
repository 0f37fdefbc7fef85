"""Which tickets each queue view shows, and the counts beside the views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.tickets.models import TicketStatus
from helpdesk.tickets.queues import COUNTED_VIEWS, QueueFilter, View, count_views, list_tickets
from tests.factories import make_ticket, make_user

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def tickets(session, agent):
    other = make_user(session, email="other@example.com", name="Olga Other")
    made = {
        "new_unassigned": make_ticket(session, status=TicketStatus.new),
        "open_unassigned": make_ticket(session, status=TicketStatus.open),
        "open_mine": make_ticket(session, status=TicketStatus.open, assignee_id=agent.id),
        "waiting_mine": make_ticket(session, status=TicketStatus.waiting, assignee_id=agent.id),
        "open_other": make_ticket(session, status=TicketStatus.open, assignee_id=other.id),
        "overdue_other": make_ticket(
            session,
            status=TicketStatus.open,
            assignee_id=other.id,
            response_due_at=NOW - timedelta(minutes=1),
        ),
        "due_later": make_ticket(
            session, status=TicketStatus.new, response_due_at=NOW + timedelta(hours=1)
        ),
        "resolved_mine": make_ticket(session, status=TicketStatus.resolved, assignee_id=agent.id),
        "closed_overdue": make_ticket(
            session, status=TicketStatus.closed, response_due_at=NOW - timedelta(days=1)
        ),
    }
    return {name: t.id for name, t in made.items()}


def names_in(session, tickets, view, user_id):
    page = list_tickets(session, QueueFilter(view=view), user_id=user_id, now=NOW, size=100)
    by_id = {v: k for k, v in tickets.items()}
    return {by_id[row.ticket.id] for row in page.rows}


def test_unassigned_lists_active_tickets_without_assignee(session, agent, tickets):
    assert names_in(session, tickets, View.unassigned, agent.id) == {
        "new_unassigned",
        "open_unassigned",
        "due_later",
    }


def test_mine_lists_my_active_tickets_only(session, agent, tickets):
    assert names_in(session, tickets, View.mine, agent.id) == {"open_mine", "waiting_mine"}


def test_all_open_lists_every_active_ticket(session, agent, tickets):
    assert names_in(session, tickets, View.open, agent.id) == {
        "new_unassigned",
        "open_unassigned",
        "open_mine",
        "waiting_mine",
        "open_other",
        "overdue_other",
        "due_later",
    }


def test_waiting_lists_tickets_waiting_on_the_customer(session, agent, tickets):
    assert names_in(session, tickets, View.waiting, agent.id) == {"waiting_mine"}


def test_overdue_lists_active_tickets_past_their_due_time(session, agent, tickets):
    assert names_in(session, tickets, View.overdue, agent.id) == {"overdue_other"}


def test_done_lists_resolved_and_closed_tickets(session, agent, tickets):
    assert names_in(session, tickets, View.done, agent.id) == {"resolved_mine", "closed_overdue"}


def test_counts_match_every_active_view_list(session, agent, tickets):
    counts = count_views(session, agent.id, NOW)
    for view in COUNTED_VIEWS:
        page = list_tickets(session, QueueFilter(view=view), user_id=agent.id, now=NOW)
        assert counts[view] == page.total, view


def test_archive_views_are_not_counted(session, agent, tickets):
    counts = count_views(session, agent.id, NOW)
    assert counts[View.done] is None and counts[View.all] is None


def test_counts_are_per_viewer_for_mine(session, agent, tickets):
    other_id = make_user(session, email="third@example.com", name="Third").id
    assert count_views(session, agent.id, NOW)[View.mine] == 2
    assert count_views(session, other_id, NOW)[View.mine] == 0


def test_counts_on_an_empty_database_are_zero(session, agent):
    counts = count_views(session, agent.id, NOW)
    assert [counts[view] for view in COUNTED_VIEWS] == [0] * len(COUNTED_VIEWS)
