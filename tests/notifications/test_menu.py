"""The dropdown under the bell: the fragment's content, its order, the return to the page
the agent was on after "mark all read", and that an open redirect is refused."""

from __future__ import annotations

import pytest

from helpdesk.notifications import service
from helpdesk.tickets import notes
from tests.factories import make_ticket
from tests.helpers import post_form


@pytest.fixture
def one_read_one_unread(session, agent, admin):
    older, newer = (make_ticket(session, subject=s) for s in ("Older question", "Newer question"))
    for ticket in (older, newer):
        notes.add_note(session, ticket.id, author_id=admin.id, body="@Alex Agent please look")
    session.flush()
    newest = service.recent(session, agent.id)[0].notification
    service.mark_read(session, agent.id, newest.id)
    session.commit()
    return older, newer


def test_the_menu_lists_unread_notifications_before_read_ones(agent_client, one_read_one_unread):
    html = agent_client.get("/notifications/menu").get_data(as_text=True)
    assert html.index("Older question") < html.index("Newer question")
    assert html.count('class="badge warn"') == 1


def test_the_menu_links_to_the_full_list_and_offers_mark_all_read(
    agent_client, one_read_one_unread
):
    html = agent_client.get("/notifications/menu?next=/tickets").get_data(as_text=True)
    assert 'href="/notifications"' in html
    assert 'name="next" value="/tickets"' in html
    assert 'action="/notifications/read"' in html


def test_the_menu_is_a_fragment_not_a_page(agent_client, one_read_one_unread):
    html = agent_client.get("/notifications/menu").get_data(as_text=True)
    assert "<html" not in html


def test_mark_all_read_from_the_menu_returns_to_the_page(
    agent_client, session, agent, one_read_one_unread
):
    response = post_form(agent_client, "/notifications/read", {"next": "/tickets?view=mine"})
    assert response.headers["Location"] == "/tickets?view=mine"
    assert service.unread_count(session, agent.id) == 0


def test_mark_all_read_refuses_a_next_on_another_site(agent_client, one_read_one_unread):
    response = post_form(agent_client, "/notifications/read", {"next": "//evil.example/"})
    assert response.headers["Location"] == "/notifications"


def test_a_foreign_next_in_the_menu_becomes_the_list(agent_client, one_read_one_unread):
    html = agent_client.get("/notifications/menu?next=https://evil.example/").get_data(as_text=True)
    assert 'name="next" value="/notifications"' in html


def test_marketers_get_no_menu(marketer_client):
    assert marketer_client.get("/notifications/menu").status_code == 403


def test_the_menu_says_when_there_is_nothing(agent_client):
    html = agent_client.get("/notifications/menu").get_data(as_text=True)
    assert "No notifications yet" in html
    assert "Mark all as read" not in html
