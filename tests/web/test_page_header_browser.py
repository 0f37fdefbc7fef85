"""The header in a real Chromium: the language switch on every page, the favicon loading
without a 404, and the ticket list's column headers on one line, in both languages."""

from __future__ import annotations

import pytest

from tests.factories import make_ticket
from tests.helpers import browser_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

LOADED_ICONS = """async () => {
  const links = [...document.querySelectorAll('link[rel=icon]')];
  const loaded = [];
  for (const link of links) {
    const response = await fetch(link.href);
    const image = new Image();
    image.src = link.href;
    await image.decode();
    loaded.push([response.status, image.naturalWidth > 0]);
  }
  return loaded;
}"""

# Lines each column header of the ticket list takes (one line box per line of text).
HEADER_LINES = """() => [...document.querySelectorAll('table.queue th')].slice(1).map((th) => {
  const range = document.createRange();
  range.selectNodeContents(th);
  return [th.textContent.trim(), new Set([...range.getClientRects()].map((r) => r.top)).size];
})"""


@pytest.fixture
def failed_requests(page):
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return failed


def test_the_header_switches_every_page_to_korean_and_back(page, agent, failed_requests):
    browser_login(page, agent.email)
    page.wait_for_url("**/tickets**")

    page.click(".topbar .language-switch button[lang=ko]")
    page.wait_for_selector("html[lang=ko]")
    assert page.locator(".mainnav a.active").inner_text().startswith("티켓")
    page.goto("/customers")
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.locator(".language-switch .active").inner_text() == "한국어"

    page.click(".topbar .language-switch button[lang=en]")
    page.wait_for_selector("html[lang=en]")
    assert page.url.endswith("/customers")
    assert failed_requests == []


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_favicon_loads_on_staff_and_public_pages(page, agent, failed_requests, language):
    page.goto(f"/language/{language}?next=/login")
    assert page.evaluate(LOADED_ICONS) == [[200, True], [200, True]]
    browser_login(page, agent.email)
    page.wait_for_url("**/tickets**")
    assert page.evaluate(LOADED_ICONS) == [[200, True], [200, True]]
    page.goto("/faq")
    assert page.evaluate(LOADED_ICONS) == [[200, True], [200, True]]
    assert failed_requests == []


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_ticket_list_column_headers_stay_on_one_line(page, session, agent, language):
    make_ticket(
        session, subject="배송이 아직 시작되지 않았습니다 주문번호 10023 확인 부탁드립니다 " * 3
    )
    page.set_viewport_size({"width": 1000, "height": 800})
    page.goto(f"/language/{language}?next=/login")
    browser_login(page, agent.email)
    page.wait_for_url("**/tickets**")
    lines = page.evaluate(HEADER_LINES)
    assert len(lines) == 7
    assert [name for name, count in lines if count != 1] == []
