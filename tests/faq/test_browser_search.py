"""In Chromium, in English and Korean: a help-centre search that finds nothing says so,
leads to the contact form and shows up on the dashboard; a typo gets "did you mean"."""

import pytest
from playwright.sync_api import expect

from helpdesk.demo_content import FAQ_ARTICLES
from tests.factories import DEFAULT_PASSWORD, make_article

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def demo_faq(session):
    for _category, language, title, body in FAQ_ARTICLES:
        make_article(session, title=title, body=body, language=language)


def _open(browser, live_server, locale):
    context = browser.new_context(base_url=live_server, locale=locale)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def _search(page, query):
    page.goto("/faq")
    page.fill("input[name=q]", query)
    page.click(".faq-search button[type=submit]")


@pytest.mark.parametrize(
    ("locale", "query", "heading", "ask", "column"),
    [
        ("en-US", "xyzzy nothing", "No answers found for “xyzzy nothing”", "Send us your question",
         "Found nothing"),
        ("ko-KR", "비밀번호", "“비밀번호”에 대한 답변을 찾지 못했습니다", "질문 보내기",
         "결과 없음"),
    ],
)  # fmt: skip
def test_a_search_that_finds_nothing_says_so_and_is_counted_on_the_dashboard(
    browser, live_server, demo_faq, admin, locale, query, heading, ask, column
):
    visitor = _open(browser, live_server, locale)
    _search(visitor, query)
    expect(visitor.locator("h1")).to_have_text(heading)
    expect(visitor.locator(".faq-results li")).to_have_count(0)
    visitor.locator("#no-results").get_by_role("link", name=ask).click()
    visitor.wait_for_url("**/faq/contact")
    expect(visitor.locator("form input[name=email]")).to_be_visible()

    staff = _open(browser, live_server, locale)
    staff.goto("/login")
    staff.fill("input[name=email]", admin.email)
    staff.fill("input[name=password]", DEFAULT_PASSWORD)
    staff.click("main button[type=submit]")
    staff.wait_for_url("**/tickets**")
    staff.goto("/dashboard")
    table = staff.locator("#faq-searches")
    expect(table.locator("thead th").nth(1)).to_have_text(column)
    row = table.locator("tbody tr", has_text=query)
    expect(row.locator("td")).to_have_text([query, "1", "0", "1"])


@pytest.mark.parametrize(
    ("locale", "typo", "corrected", "found"),
    [
        ("en-US", "refnud", "refund", "How do I get a refund?"),
        ("ko-KR", "환뷸은", "환불은", "환불은 어떻게 받나요?"),
    ],
)
def test_a_typo_offers_the_faq_word_and_the_suggestion_finds_the_article(
    browser, live_server, demo_faq, locale, typo, corrected, found
):
    visitor = _open(browser, live_server, locale)
    _search(visitor, typo)
    suggestion = visitor.locator("#did-you-mean a")
    expect(suggestion).to_have_text(corrected)
    suggestion.click()
    expect(visitor.locator("input[name=q]")).to_have_value(corrected)
    expect(visitor.locator(".faq-results li h2").first).to_have_text(found)
