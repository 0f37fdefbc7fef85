"""Keyboard shortcuts in the queue and on the ticket page, in English and Korean."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from helpdesk.tickets.models import Ticket, TicketStatus
from tests.factories import make_ticket

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def state(session, ticket_id):
    ticket = session.scalars(
        select(Ticket).where(Ticket.id == ticket_id).execution_options(populate_existing=True)
    ).one()
    session.commit()
    return ticket.assignee_id, ticket.status


@pytest.mark.parametrize(
    ("locale", "title"), [("en-US", "Keyboard shortcuts"), ("ko-KR", "단축키")]
)
def test_question_mark_lists_the_shortcuts(open_as, session, agent, locale, title):
    make_ticket(session, subject="Order missing")
    page = open_as(agent.email, locale=locale)
    page.goto("/tickets")
    page.keyboard.press("?")
    overlay = page.locator("#shortcuts")
    overlay.wait_for()
    assert title in overlay.inner_text()
    page.keyboard.press("Escape")
    overlay.wait_for(state="hidden")


def test_j_and_enter_open_a_ticket_from_the_queue(open_as, session, agent):
    older = make_ticket(session, subject="Older")
    newer = make_ticket(session, subject="Newer")
    page = open_as(agent.email)
    page.goto("/tickets?view=all")
    page.keyboard.press("j")
    first = page.locator("tr.selected").get_attribute("data-ticket-id")
    page.keyboard.press("j")
    second = page.locator("tr.selected").get_attribute("data-ticket-id")
    assert {int(first), int(second)} == {older.id, newer.id}
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/tickets/{second}$"))
    page.keyboard.press("k")
    page.wait_for_url(re.compile(rf"/tickets/{first}$"))


def test_ticket_keys_reply_assign_and_resolve(open_as, session, agent):
    ticket = make_ticket(session, subject="Order missing")
    page = open_as(agent.email)
    page.goto(f"/tickets/{ticket.id}")
    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.id") == "reply-editor"
    page.keyboard.type("a draft")
    assert state(session, ticket.id)[0] is None  # "a" typed into the box is text
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    page.locator(".flash-success").wait_for()
    # Deferred scripts (the shortcuts after the editor's) have run by DOMContentLoaded.
    page.wait_for_load_state("domcontentloaded")
    assert state(session, ticket.id)[0] == agent.id
    with page.expect_navigation():
        page.keyboard.press("c")
    assert state(session, ticket.id) == (agent.id, TicketStatus.resolved)
