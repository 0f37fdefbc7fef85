"""Uploading a customer CSV in a real Chromium: preview with the bad line, confirm, live report."""

import pytest
from playwright.sync_api import expect
from rq import Queue, SimpleWorker

from helpdesk.queue import IMPORT_QUEUE
from tests.factories import DEFAULT_PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

CSV = (
    "email,name,tags\n"
    "kim@example.com,김민지,vip\n"
    "lee@example.com,Lee Seoyeon,\n"
    "this is not an email,Broken,\n"
    'park@example.com,박지훈,"vip, 서울"\n'
).encode("cp949")


def test_admin_imports_a_csv_with_one_bad_line(page, admin, redis_conn):
    page.goto("/login")
    page.fill("input[name=email]", admin.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".usermenu")).to_contain_text(admin.name)

    page.goto("/customers/import")
    page.select_option("select[name=kind]", "customers")
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "customers.csv", "mimeType": "text/csv", "buffer": CSV}],
    )
    page.click("text=Upload and preview")

    page.wait_for_url("**/preview")
    expect(page.locator("[data-count=new]")).to_have_text("3")
    expect(page.locator("[data-count=errors]")).to_have_text("1")
    expect(page.locator(".import-summary")).to_contain_text("CP949")
    bad = page.locator("tr.import-error")
    expect(bad).to_have_count(1)
    expect(bad).to_contain_text("4")
    expect(bad).to_contain_text("is not a valid email address")
    expect(page.locator("table").last).to_contain_text("김민지")

    page.click("text=Import 3 rows")
    page.wait_for_url("**/customers/import/*")
    expect(page.locator("#import-progress")).to_contain_text("Waiting for a worker")

    queue = Queue(IMPORT_QUEUE, connection=redis_conn)
    SimpleWorker([queue], connection=redis_conn).work(burst=True)

    report = page.locator(".import-report")
    expect(report).to_contain_text("3 new, 0 updated, 1 skipped", timeout=10_000)
    expect(report.locator("tr.import-error")).to_contain_text("this is not an email")
    expect(report.locator("a", has_text="Download all problems as CSV")).to_be_visible()
