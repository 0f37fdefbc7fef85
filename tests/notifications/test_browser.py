"""In two real browsers: agent A mentions agent B in a note through the @ autocomplete;
B's bell count goes up on B's open page without a reload, and the note shows the
mention highlighted. In English and in Korean."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import DEFAULT_PASSWORD, make_ticket, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

PEOPLE = {
    # language: (A's name, B's name, what A types after @, B's handle)
    "en": ("Ada Admin", "Bora Kim", "Bo", "@BoraKim"),
    "ko": ("이 수진", "김 민수", "민", "@김민수"),
}


@pytest.fixture
def open_as(browser, live_server):
    contexts = []

    def open_page(email: str):
        context = browser.new_context(base_url=live_server, locale="en-US")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto("/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", DEFAULT_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_mention_rings_the_bell_live_and_shows_highlighted(open_as, session, language):
    a_name, b_name, typed, handle = PEOPLE[language]
    make_user(session, email="a@example.com", name=a_name, role="admin", language=language)
    make_user(session, email="b@example.com", name=b_name, language=language)
    ticket = make_ticket(session, subject="Order 1001")

    b = open_as("b@example.com")
    b.goto(f"/tickets/{ticket.id}")
    assert b.locator("html").get_attribute("lang") == language
    bell = b.locator("[data-bell-count]")
    assert bell.inner_text() == "0"

    a = open_as("a@example.com")
    a.goto(f"/tickets/{ticket.id}")
    note = a.locator("#note textarea")
    note.click()
    note.press_sequentially(f"@{typed}")
    a.locator(".mention-list li", has_text=b_name).wait_for()
    note.press("Enter")
    note.press_sequentially("please check / 확인 부탁해요")
    assert note.input_value() == f"{handle} please check / 확인 부탁해요"
    a.click("#note button[type=submit]")

    a.locator("mark.mention", has_text=handle).wait_for()
    # B's page was never reloaded: the count changes in place.
    expect(bell).to_have_text("1", timeout=15_000)
    b.reload()
    b.locator("mark.mention", has_text=handle).wait_for()
