"""The account pages in a real browser: asking for a reset link from the login page, and
changing one's password on the preferences page."""

from __future__ import annotations

from tests.factories import DEFAULT_PASSWORD
from tests.helpers import browser_login


def test_forgot_password_is_reached_from_the_login_page(page, agent, redis_conn):
    page.goto("/login")
    page.click("text=Forgot password?")
    page.fill("input[name=email]", agent.email)
    page.click("main button[type=submit]")

    page.wait_for_url("**/login")
    assert "If an account uses agent@example.com" in page.locator(".flash").inner_text()


def test_changing_ones_password_on_the_preferences_page(page, agent):
    browser_login(page, agent.email)
    page.wait_for_url("**/tickets**")
    page.goto("/preferences")
    page.fill("input[name=current_password]", DEFAULT_PASSWORD)
    page.fill("input[name=new_password]", "a brand new passphrase")
    page.fill("input[name=confirm_password]", "a brand new passphrase")
    page.click("button:has-text('Change password')")

    page.wait_for_url("**/preferences")
    assert page.locator(".flash").inner_text() == (
        "Password changed. Your other sessions are logged out."
    )
    page.goto("/customers")
    assert page.url.endswith("/customers")
