"""Two-factor login in a real Chromium: setting it up from the preferences page, then
logging in with the password and a code from the app."""

import pyotp
import pytest

from tests.auth.two_factor_support import code, turn_on
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import browser_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def test_login_asks_for_the_code_after_the_password_and_then_opens_the_app(page, session, agent):
    secret, _codes = turn_on(session, agent)
    page.goto("/customers")
    page.wait_for_url("**/login?next=*")
    page.fill("input[name=email]", agent.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/login/code")
    # Half logged in: the password alone opens no page.
    page.goto("/customers")
    page.wait_for_url("**/login?next=*")
    page.go_back()
    page.wait_for_url("**/login/code")
    page.fill("input[name=code]", code(secret, 1))
    page.click("main button[type=submit]")
    page.wait_for_url("**/customers")
    assert page.locator(".usermenu").inner_text().splitlines().count(agent.name) == 1


def test_set_up_from_preferences_shows_a_qr_code_and_then_recovery_codes(page, agent):
    browser_login(page, agent.email)
    page.wait_for_url("**/tickets**")
    page.goto("/preferences")
    page.click("#two-factor a.button")
    assert page.locator("[data-qr] svg").is_visible()
    secret = page.locator("[data-secret]").inner_text()
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("main form button[type=submit]")
    assert page.locator(".recovery-codes li").count() == 10
    page.click("text=I have saved them")
    assert "On." in page.locator("#two-factor").inner_text()
