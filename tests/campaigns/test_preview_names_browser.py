"""In Chromium: a marketer reads the placeholders in the editor, then previews a campaign
as a Korean and as a Western customer found by search."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import make_campaign, make_customer
from tests.helpers import browser_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def test_preview_as_a_searched_customer_shows_their_names(page, marketer, session):
    make_customer(session, email="minjun@example.com", name="김 민준")
    make_customer(session, email="mary@example.com", name="Mary Ann Smith")
    campaign = make_campaign(
        session,
        subject="{{ customer.salutation }} 이번 달 소식",
        html_body="<p>{{ customer.salutation }} {{ customer.given_name }}</p>",
    )
    browser_login(page, marketer.email)
    page.wait_for_url("**/campaigns")

    page.goto(f"/campaigns/{campaign.id}")
    variables = page.locator("#template-variables")
    expect(variables.locator("dl")).to_be_hidden()
    variables.locator("summary").click()
    expect(variables).to_contain_text("{{ customer.given_name }}")
    expect(variables).to_contain_text("“김민준 님,” for a name in Hangul")

    page.click(".page-head >> text=Preview")
    page.fill("input[name=q]", "minjun")
    page.click("button:has-text('Show')")
    options = page.locator("select[name=customer_id] option")
    expect(options).to_have_count(2)
    page.select_option("select[name=customer_id]", label="김 민준 <minjun@example.com>")
    page.click("button:has-text('Show')")
    expect(page.locator("#preview-subject")).to_have_text("김민준 님, 이번 달 소식")
    expect(page.frame_locator("iframe.preview-desktop").locator("p")).to_have_text(
        "김민준 님, 민준"
    )
    expect(page.locator('[data-variable="family_name"]')).to_have_text("김")

    page.fill("input[name=q]", "Mary")
    page.click("button:has-text('Show')")
    page.select_option("select[name=customer_id]", label="Mary Ann Smith <mary@example.com>")
    page.click("button:has-text('Show')")
    expect(page.locator("#preview-subject")).to_have_text("Hi Mary Ann, 이번 달 소식")
    expect(page.frame_locator("iframe.preview-narrow").locator("p")).to_have_text(
        "Hi Mary Ann, Mary Ann"
    )
    expect(page.locator("#preview-to")).to_have_text("mary@example.com")
