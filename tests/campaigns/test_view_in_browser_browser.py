"""The "view in browser" page in a real browser: a marketer's HTML cannot redirect the
reader, submit a form, run script or move relative links elsewhere."""

from __future__ import annotations

import pytest

from tests.campaigns.tracking_support import paths
from tests.factories import make_delivery, make_sending_campaign, make_subscribers

PHISHING = """<html><head>
<meta http-equiv="refresh" content="0;url=/faq?phished=refresh">
<base href="/phished-base/">
</head><body>
<p id="hello">Hello {{ customer.name }}</p>
<form action="/faq?phished=form" method="get"><input name="q" value="x">
<button id="submit" type="submit">Log in</button></form>
<a id="relative" href="account">Your account</a>
<script>document.title = "script ran";</script>
</body></html>"""


@pytest.fixture
def view_path(session, redis_conn, worker_env):
    (customer,) = make_subscribers(session, 1)
    campaign = make_sending_campaign(session, html_body=PHISHING)
    return paths(make_delivery(session, campaign, customer))["view"]


def test_meta_refresh_does_not_take_the_reader_away(page, view_path):
    page.goto(view_path)
    page.wait_for_timeout(1500)
    assert "phished" not in page.url
    assert page.text_content("#hello") == "Hello Reader 0"


def test_a_form_in_the_newsletter_does_not_submit(page, view_path):
    page.goto(view_path)
    page.click("#submit")
    page.wait_for_timeout(1000)
    assert "phished" not in page.url


def test_scripts_do_not_run_and_base_href_is_ignored(page, view_path):
    page.goto(view_path)
    assert page.title() != "script ran"
    href = page.get_attribute("#relative", "href")
    resolved = page.evaluate("document.getElementById('relative').href")
    assert href == "account"
    assert "/phished-base/" not in resolved


def test_the_page_is_served_under_a_sandbox_policy(client, view_path):
    policy = client.get(view_path).headers["Content-Security-Policy"]
    directives = {d.strip().split(" ")[0] for d in policy.split(";")}
    assert {"sandbox", "default-src", "base-uri", "form-action", "frame-ancestors"} <= directives
    assert "script-src" not in directives  # default-src 'none' covers scripts
