"""Keyboard shortcuts in the queue and on the ticket page, in English and Korean."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from helpdesk.tickets.models import Ticket, TicketStatus
from helpdesk.tickets.service import set_priority
from tests.factories import make_ticket

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

# The live queue asks for changes every 5 s (static/queues.js); a loaded machine is slower.
LIVE_QUEUE_WAIT_MS = 20_000


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


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
def test_ticket_keys_reply_assign_and_resolve(open_as, session, agent, locale):
    ticket = make_ticket(session, subject="Order missing")
    page = open_as(agent.email, locale=locale)
    page.goto(f"/tickets/{ticket.id}")
    page.keyboard.press("r")
    expect(page.locator("#reply-editor")).to_be_focused()
    page.keyboard.type("a draft")
    assert state(session, ticket.id)[0] is None  # "a" typed into the box is text
    # Esc at once, before the editor has rendered the typing: the next key is a shortcut.
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    expect(page.locator("#assignee strong")).to_have_text(agent.name)
    # The assigned ticket's page has loaded, its shortcuts with it.
    page.wait_for_load_state()
    assert state(session, ticket.id)[0] == agent.id
    page.keyboard.press("c")
    expect(page.locator("#properties select[name=status]")).to_have_value("resolved")
    assert state(session, ticket.id) == (agent.id, TicketStatus.resolved)


def test_selection_keeps_its_ticket_when_the_live_queue_redraws(open_as, session, agent):
    make_ticket(session, subject="One")
    make_ticket(session, subject="Two")
    page = open_as(agent.email)
    page.goto("/tickets?view=all")
    page.keyboard.press("j")
    chosen = page.locator("tr.selected").get_attribute("data-ticket-id")
    other = page.locator("tbody tr[data-ticket-id]").nth(1).get_attribute("data-ticket-id")
    set_priority(session, int(other), "high", actor_id=agent.id)
    session.commit()
    # The changed ticket's row is drawn again at the top of the list at the next poll.
    expect(page.locator("tbody tr[data-ticket-id]").first).to_have_attribute(
        "data-ticket-id", other, timeout=LIVE_QUEUE_WAIT_MS
    )
    expect(page.locator("tr.selected")).to_have_attribute("data-ticket-id", chosen)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/tickets/{chosen}$"))
