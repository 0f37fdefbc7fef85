"""The Unassigned and Mine counts in the main navigation, on every page of support staff."""

from __future__ import annotations

import re
from datetime import timedelta

from helpdesk.db import utcnow
from helpdesk.tickets.models import TicketStatus
from helpdesk.tickets.queues import View, count_views, nav_counts
from tests.factories import make_ticket, make_user


def nav_badges(html: str) -> dict[str, str]:
    nav = html.split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]
    return dict(re.findall(r'data-count="(\w+)">(\d+)<', nav))


def make_mixed_tickets(session, agent):
    other = make_user(session, email="other@example.com", name="Olga Other")
    make_ticket(session, status=TicketStatus.new)
    make_ticket(session, status=TicketStatus.waiting)
    make_ticket(session, status=TicketStatus.closed)  # done: not counted
    make_ticket(session, status=TicketStatus.open, assignee_id=agent.id)
    make_ticket(session, status=TicketStatus.resolved, assignee_id=agent.id)  # done
    make_ticket(session, status=TicketStatus.open, assignee_id=other.id)  # someone else's
    return other


def test_nav_counts_agree_with_the_views(session, agent):
    other = make_mixed_tickets(session, agent)
    now = utcnow() + timedelta(minutes=1)
    for user in (agent, other):
        views = count_views(session, user.id, now)
        assert nav_counts(session, user.id) == {
            View.unassigned: views[View.unassigned],
            View.mine: views[View.mine],
        }
    assert nav_counts(session, agent.id) == {View.unassigned: 2, View.mine: 1}
    assert nav_counts(session, other.id) == {View.unassigned: 2, View.mine: 1}


def test_counts_on_an_empty_database_are_zero(session, agent):
    assert nav_counts(session, agent.id) == {View.unassigned: 0, View.mine: 0}


def test_every_page_of_an_agent_shows_the_counts_in_the_navigation(agent_client, session, agent):
    make_mixed_tickets(session, agent)
    for path in ("/customers", "/faq/admin", "/tickets?view=done"):
        response = agent_client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert nav_badges(html) == {"unassigned": "2", "mine": "1"}, path
        assert 'data-nav-counts="/tickets/counts"' in html
        assert "/static/queue_nav.js" in html


def test_admins_see_the_counts_too(admin_client, session):
    make_ticket(session)
    html = admin_client.get("/customers").get_data(as_text=True)
    assert nav_badges(html) == {"unassigned": "1", "mine": "0"}


def test_marketers_get_no_ticket_counts(marketer_client, session):
    make_ticket(session)
    html = marketer_client.get("/customers").get_data(as_text=True)
    assert nav_badges(html) == {} and "queue_nav.js" not in html
    assert marketer_client.get("/tickets/counts").status_code == 403


def test_counts_endpoint_returns_fresh_numbers_as_json(agent_client, session, agent):
    make_ticket(session)
    assert agent_client.get("/tickets/counts").get_json() == {
        "counts": {"unassigned": 1, "mine": 0}
    }
    make_ticket(session, assignee_id=agent.id)
    make_ticket(session)
    response = agent_client.get("/tickets/counts")
    assert response.get_json() == {"counts": {"unassigned": 2, "mine": 1}}
    assert response.headers["Cache-Control"] == "no-store"


def test_counts_endpoint_needs_a_login(client):
    response = client.get("/tickets/counts")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
