"""The header every page shares: the language switch (a cookie for visitors, the saved
preference for staff), the favicon, and the Tickets counts with their names."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.auth.models import User
from tests.factories import make_ticket
from tests.helpers import csrf_token, post_form


def _language_of(session, user) -> str | None:
    session.expire_all()
    language = session.scalar(select(User.language).where(User.id == user.id))
    session.commit()
    return language


@pytest.mark.parametrize("path", ["/tickets", "/customers", "/preferences", "/faq/admin"])
def test_every_staff_page_offers_the_other_language_in_its_header(agent_client, path):
    html = agent_client.get(path).get_data(as_text=True)
    assert 'action="/language/ko?next=' in html
    assert '<span lang="en" class="active" aria-current="true">English</span>' in html


def test_the_login_page_links_to_the_other_language(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'href="/language/ko?next=/login' in html


def test_switching_language_in_the_header_saves_it_as_the_users_preference(
    agent_client, session, agent
):
    response = post_form(agent_client, "/language/ko?next=/tickets")
    assert response.status_code == 302 and response.headers["Location"].endswith("/tickets")
    assert _language_of(session, agent) == "ko"
    html = agent_client.get("/tickets").get_data(as_text=True)
    assert '<html lang="ko">' in html
    assert 'action="/language/en?next=' in html


def test_the_saved_language_wins_over_the_switch_of_another_browser(agent_client, session, agent):
    post_form(agent_client, "/language/ko?next=/tickets")
    agent_client.set_cookie("lang", "en")
    assert '<html lang="ko">' in agent_client.get("/tickets").get_data(as_text=True)


def test_a_language_switch_without_the_csrf_token_is_refused(agent_client, session, agent):
    csrf_token(agent_client)
    response = agent_client.post("/language/ko?next=/tickets")
    assert response.status_code == 400
    assert _language_of(session, agent) is None


def test_an_unknown_language_changes_nothing(agent_client, session, agent):
    response = post_form(agent_client, "/language/xx?next=/tickets")
    assert response.status_code == 302
    assert _language_of(session, agent) is None
    assert "lang=" not in response.headers.get("Set-Cookie", "")


def test_a_visitor_switching_language_gets_a_cookie_and_no_account_change(client):
    response = client.get("/language/ko?next=/login")
    assert response.status_code == 302
    assert "lang=ko" in response.headers["Set-Cookie"]
    assert '<html lang="ko">' in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/login", "/faq"])
def test_pages_link_a_favicon_that_is_served(client, path):
    html = client.get(path).get_data(as_text=True)
    assert 'rel="icon" href="/static/favicon.svg"' in html
    assert 'rel="icon" href="/static/favicon.ico"' in html
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert client.get("/static/favicon.ico").status_code == 200


def test_the_tickets_counts_in_the_navigation_carry_visible_names(agent_client, session, agent):
    make_ticket(session)
    make_ticket(session, assignee_id=agent.id)
    html = agent_client.get("/customers").get_data(as_text=True)
    assert (
        '<span class="nav-count"><span class="count-label">Unassigned</span> '
        '<span class="count" data-count="unassigned">1</span></span>'
    ) in html
    assert (
        '<span class="nav-count"><span class="count-label">Mine</span> '
        '<span class="count" data-count="mine">1</span></span>'
    ) in html
