"""In a real browser: the navigation's ticket counts update without a reload."""

from __future__ import annotations

import pytest

from tests.factories import make_ticket
from tests.helpers import browser_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def test_nav_counts_update_on_a_page_without_the_ticket_list(page, session, agent):
    make_ticket(session, subject="Already here")
    browser_login(page, agent.email)
    page.goto("/customers")
    unassigned = page.locator('.mainnav [data-count="unassigned"]')
    mine = page.locator('.mainnav [data-count="mine"]')
    assert (unassigned.inner_text(), mine.inner_text()) == ("1", "0")
    marker = page.evaluate("() => (window.loadedOnce = 'still the same page')")

    make_ticket(session, subject="새 문의")
    make_ticket(session, subject="Mine now", assignee_id=agent.id)

    page.wait_for_function(
        """() => document.querySelector('.mainnav [data-count="unassigned"]').textContent === "2"
              && document.querySelector('.mainnav [data-count="mine"]').textContent === "1" """,
        timeout=25_000,
    )
    assert page.evaluate("() => window.loadedOnce") == marker


def test_queue_page_updates_the_nav_counts_with_its_own_updates(page, session, agent):
    browser_login(page, agent.email)
    page.goto("/tickets?view=mine")
    assert page.locator('.mainnav [data-count="unassigned"]').inner_text() == "0"

    make_ticket(session, subject="Nobody's yet")

    page.wait_for_function(
        """() => document.querySelector('.mainnav [data-count="unassigned"]').textContent === "1"
              && document.querySelector('.queue-views [data-count="unassigned"]').textContent
                 === "1" """,
        timeout=15_000,
    )
