"""In a real browser: a new ticket appears in the open Unassigned list without a reload,
and the counts beside and above the list follow."""

from __future__ import annotations

import pytest

from tests.factories import make_ticket
from tests.helpers import browser_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def test_new_ticket_appears_in_the_open_list_and_the_count_updates(page, session, agent):
    make_ticket(session, subject="Already here")
    browser_login(page, agent.email)
    page.goto("/tickets?view=unassigned")
    count = page.locator('.queue-views [data-count="unassigned"]')
    heading = page.locator("h1 [data-total]")
    assert count.inner_text() == heading.inner_text() == "1"
    marker = page.evaluate("() => (window.loadedOnce = 'still the same page')")

    make_ticket(session, subject="배송이 아직 안 왔어요", customer_email="new@example.com")

    new_row = page.locator("table.queue tbody tr", has_text="배송이 아직 안 왔어요")
    new_row.wait_for(timeout=15_000)
    assert count.inner_text() == heading.inner_text() == "2"
    assert (
        page.locator("table.queue tbody tr").first.inner_text().find("배송이 아직 안 왔어요") >= 0
    )
    assert "Customer replied last" in new_row.inner_text()
    # The page was never reloaded: the value set before is still there.
    assert page.evaluate("() => window.loadedOnce") == marker


def test_first_ticket_replaces_the_empty_state(page, session, agent):
    browser_login(page, agent.email)
    page.goto("/tickets?view=unassigned")
    assert page.locator("[data-empty]").is_visible()

    make_ticket(session, subject="The very first one")

    page.locator("table.queue tbody tr", has_text="The very first one").wait_for(timeout=15_000)
    assert not page.locator("[data-empty]").is_visible()
    assert page.locator('.queue-views [data-count="unassigned"]').inner_text() == "1"
