"""In Chromium: the dashboard draws its charts, a new date range redraws them, a CSV
downloads, and the "now" figures refresh by themselves."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from helpdesk.db import utcnow
from tests.factories import DEFAULT_PASSWORD
from tests.reports.support import ticket, utc

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def test_dashboard_charts_range_change_csv_and_live_numbers(page, session, admin):
    # UTC is the admin's zone: 1 ticket on 2 March, 2 on 5 March.
    for n, at in enumerate([utc(2026, 3, 2, 9), utc(2026, 3, 5, 9), utc(2026, 3, 5, 10)]):
        ticket(session, at, n=n, status="closed")
    page.goto("/login")
    page.fill("input[name=email]", admin.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/tickets**")

    page.goto("/dashboard?from=2026-03-01&to=2026-03-03")
    chart = page.locator("#chart-volume svg")
    expect(chart).to_be_visible()
    expect(chart.locator("desc")).to_have_text(
        "1 new and 0 resolved tickets from 2026-03-01 to 2026-03-03."
    )
    expect(chart.locator("rect")).to_have_count(6)  # 3 days x (new, resolved)
    expect(page.locator("#chart-hours svg")).to_be_visible()

    page.fill("#to", "2026-03-06")
    page.click("#range-form button[type=submit]")
    page.wait_for_url("**to=2026-03-06**")
    expect(page.locator("#chart-volume svg desc")).to_have_text(
        "3 new and 0 resolved tickets from 2026-03-01 to 2026-03-06."
    )
    expect(page.locator("#chart-volume svg rect")).to_have_count(12)
    expect(page.locator('[data-figure="created"]')).to_have_text("3")

    with page.expect_download() as download_info:
        page.locator("#volume-table").locator("xpath=..").locator("summary a.csv").click()
    download = download_info.value
    assert download.suggested_filename == "dashboard-volume-2026-03-01-2026-03-06.csv"
    text = Path(download.path()).read_text(encoding="utf-8").splitlines()
    assert text[0] == "day,new,resolved"
    assert text[1:] == [
        "2026-03-01,0,0",
        "2026-03-02,1,0",
        "2026-03-03,0,0",
        "2026-03-04,0,0",
        "2026-03-05,2,0",
        "2026-03-06,0,0",
    ]

    open_now = page.locator('#now [data-figure="open_total"]')
    expect(open_now).to_have_text("0")
    ticket(session, utcnow() - timedelta(minutes=5), n=9, status="new")
    # Poll quickly instead of waiting the page's 30 seconds.
    page.evaluate(
        "() => { const el = document.getElementById('now');"
        " el.dataset.refreshEvery = '200'; startRefresh(el); }"
    )
    expect(open_now).to_have_text("1")
