"""Every main page fits a phone (390 px) with no sideways scrolling, in English and Korean;
the suite saves screenshots of each at desktop and phone width as artifacts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.factories import (
    DEFAULT_PASSWORD,
    make_campaign,
    make_customer,
    make_message,
    make_ticket,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

# Kept after the run (CI uploads it); the directory is ignored by git.
ARTIFACTS = Path(os.environ.get("HELPDESK_TEST_ARTIFACTS", "test-artifacts")) / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def pages(session):
    customer = make_customer(
        session, email="kim.minji.long-address@example.co.kr", name="김민지 Kim Minji"
    )
    ticket = make_ticket(
        session,
        customer_email=customer.email,
        subject="주문한 상품이 아직 안 왔어요 — a rather long subject line about a late parcel",
    )
    make_message(session, ticket, body_text="안녕하세요. " * 40)
    campaign = make_campaign(session, name="December newsletter with a long name")
    return {
        "queue": "/tickets?view=all",
        "ticket": f"/tickets/{ticket.id}",
        "customers": "/customers",
        "customer": f"/customers/{customer.id}",
        "campaigns": "/campaigns",
        "campaign": f"/campaigns/{campaign.id}",
        "dashboard": "/dashboard",
    }


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
def test_main_pages_fit_a_phone(browser, live_server, admin, pages, locale):
    overflowing = {}
    for width_name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(base_url=live_server, locale=locale, viewport=viewport)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto("/login")
        page.fill("input[name=email]", admin.email)
        page.fill("input[name=password]", DEFAULT_PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_load_state()
        for name, url in pages.items():
            page.goto(url)
            page.wait_for_load_state("networkidle")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=ARTIFACTS / f"{name}-{width_name}-{locale}.png", full_page=True)
            if width_name == "phone":
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > PHONE["width"]:
                    overflowing[name] = width
        context.close()
    assert overflowing == {}
