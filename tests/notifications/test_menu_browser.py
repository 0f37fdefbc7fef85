"""In Chromium, in English and in Korean: the bell opens the latest notifications under
it, Esc closes them and gives the focus back to the bell, an entry opens its ticket and
counts as read, and "mark all read" leaves the agent on the page they were on."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpdesk.tickets import notes
from tests.factories import make_ticket, make_user
from tests.helpers import browser_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

WORDS = {
    # language: (the menu's heading, "mark all read", "see all")
    "en": ("Notifications", "Mark all as read", "See all notifications"),
    "ko": ("알림", "모두 읽음으로 표시", "모든 알림 보기"),
}


@pytest.fixture
def agent_page(browser, live_server, session, admin):
    contexts = []

    def open_as(language: str):
        make_user(session, email="bora@example.com", name="Bora Kim", language=language)
        tickets = [make_ticket(session, subject=f"Order 100{n}") for n in (1, 2)]
        for ticket in tickets:
            notes.add_note(session, ticket.id, author_id=admin.id, body="@BoraKim please look")
        session.commit()
        context = browser.new_context(base_url=live_server, locale="en-US")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        browser_login(page, "bora@example.com")
        page.wait_for_load_state()
        return page, tickets

    yield open_as
    for context in contexts:
        context.close()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_bell_opens_the_latest_notifications_and_esc_closes_them(agent_page, language):
    page, _tickets = agent_page(language)
    heading, mark_all, see_all = WORDS[language]
    page.goto("/tickets")
    page.click(".bell")
    menu = page.locator("#bell-menu")
    expect(menu).to_be_visible()
    expect(menu.locator(".bell-menu-head strong")).to_have_text(heading)
    expect(menu.locator("li.unread")).to_have_count(2)
    expect(menu.locator("a", has_text=see_all)).to_have_attribute("href", "/notifications")
    expect(menu.locator("button", has_text=mark_all)).to_be_visible()
    expect(page.locator(".bell")).to_have_attribute("aria-expanded", "true")

    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(page.locator(".bell")).to_be_focused()
    expect(page.locator(".bell")).to_have_attribute("aria-expanded", "false")


@pytest.mark.parametrize("language", ["en", "ko"])
def test_an_entry_in_the_menu_opens_its_ticket_and_counts_as_read(agent_page, language):
    page, tickets = agent_page(language)
    page.goto("/tickets")
    page.focus(".bell")
    page.keyboard.press("Enter")
    entry = page.locator("#bell-menu li", has_text="Order 1001")
    entry.locator("button").click()
    page.wait_for_url(f"**/tickets/{tickets[0].id}")
    expect(page.locator("[data-bell-count]")).to_have_text("1")


@pytest.mark.parametrize("language", ["en", "ko"])
def test_mark_all_read_in_the_menu_stays_on_the_page(agent_page, language):
    page, _tickets = agent_page(language)
    _heading, mark_all, _see_all = WORDS[language]
    page.goto("/customers")
    page.click(".bell")
    page.locator("#bell-menu button", has_text=mark_all).click()
    page.wait_for_load_state()
    assert page.url.endswith("/customers")
    expect(page.locator("[data-bell-count]")).to_have_text("0")


def test_on_a_phone_the_menu_fits_the_screen(agent_page):
    page, _tickets = agent_page("ko")
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/tickets")
    page.click(".bell")
    menu = page.locator("#bell-menu")
    expect(menu.locator("li.unread")).to_have_count(2)
    box = menu.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390


def test_without_javascript_the_bell_is_a_link_to_the_list(browser, live_server, session, agent):
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    page = context.new_page()
    browser_login(page, agent.email)
    page.click(".bell")
    page.wait_for_url("**/notifications")
    context.close()
