"""Logging in and switching the UI to Korean, in a real Chromium."""

import pytest

from tests.helpers import browser_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def test_login_page_logs_an_agent_in_and_shows_the_navigation(page, agent):
    browser_login(page, agent.email)
    page.wait_for_url("**/tickets**")
    assert page.locator(".usermenu").inner_text().splitlines().count(agent.name) == 1


def test_wrong_password_shows_an_error_on_the_login_page(page, agent):
    browser_login(page, agent.email, "not the password")
    assert "Wrong email or password" in page.locator(".form-errors").inner_text()


def test_language_switch_shows_the_login_page_in_korean(page):
    page.goto("/login")
    page.click("a[lang=ko]")
    assert page.locator("h1").inner_text() == "로그인"
    assert page.locator("html").get_attribute("lang") == "ko"


def test_user_setting_switches_the_whole_ui_to_korean(page, agent):
    browser_login(page, agent.email)
    page.goto("/preferences")
    page.select_option("select[name=language]", "ko")
    page.click("main button[type=submit]")
    assert page.locator(".flash").inner_text() == "설정을 저장했습니다."
    assert page.locator("h1").inner_text() == "환경 설정"
