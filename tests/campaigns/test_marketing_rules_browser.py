"""In Chromium: a marketer sets a frequency cap and quiet hours, meets an error first."""

from __future__ import annotations

from datetime import time

import pytest
from playwright.sync_api import expect

from helpdesk.campaigns.models import MarketingRules
from tests.helpers import browser_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def test_marketer_sets_cap_and_quiet_hours_in_the_browser(page, marketer, session):
    browser_login(page, marketer.email)
    page.wait_for_url("**/campaigns")
    page.get_by_role("link", name="Marketing rules").click()
    page.wait_for_url("**/campaigns/rules")

    page.get_by_label("Limit how many marketing messages a customer gets").check()
    page.get_by_label("At most this many messages").fill("0")
    page.get_by_label("Keep quiet hours").check()
    page.get_by_label("Quiet from").fill("22:30")
    page.get_by_label("Quiet until").fill("07:15")
    page.get_by_label("Time zone of the quiet hours").select_option("Asia/Seoul")
    page.get_by_role("button", name="Save").click()

    expect(page.locator(".error")).to_have_text("Enter a whole number from 1 to 100.")
    assert session.get(MarketingRules, 1) is None
    session.rollback()  # end the read, so the next one sees what the page saved

    page.get_by_label("At most this many messages").fill("2")
    page.get_by_label("In any period of this many days").fill("10")
    page.get_by_role("button", name="Save").click()

    expect(page.locator(".flash")).to_contain_text("Marketing rules saved.")
    expect(page.get_by_label("Limit how many marketing messages a customer gets")).to_be_checked()
    expect(page.get_by_label("Quiet from")).to_have_value("22:30")
    rules = session.get(MarketingRules, 1)
    assert (rules.cap_messages, rules.cap_days) == (2, 10)
    assert (rules.quiet_start, rules.quiet_end, rules.timezone) == (
        time(22, 30),
        time(7, 15),
        "Asia/Seoul",
    )
