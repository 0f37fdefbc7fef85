"""The pages work under their Content-Security-Policy in a real browser: Chromium reports
no violation on any page an admin can open, nor on the public pages."""

from __future__ import annotations

import pytest

from tests.factories import make_user
from tests.helpers import browser_login
from tests.web.route_support import path_for

pytestmark = pytest.mark.browser

# Not pages: downloads, feeds, JSON, pixels and redirects.
NOT_PAGES = (".csv", ".gif", ".xml", ".json", "/raw", "/progress", "/counts", "/updates")
NOT_PAGE_ENDPOINTS = {
    "static",
    "i18n.switch_language",
    "customers.export",
    "tickets.attachment",
    "tracking.click",
    "tracking.open_pixel",
    "faq_admin.suggest",
}


def _page_paths(app, world) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in NOT_PAGE_ENDPOINTS:
            continue
        path = path_for(rule, world)
        if not path.endswith(NOT_PAGES):
            paths.append(path)
    return sorted(paths)


def _violations(page) -> list[str]:
    found: list[str] = []
    page.on(
        "console",
        lambda message: "Content Security Policy" in message.text and found.append(message.text),
    )
    return found


def test_no_page_breaks_its_content_security_policy(app, page, session, world):
    admin = make_user(session, role="admin", email="csp@example.com")
    violations = _violations(page)
    browser_login(page, admin.email)
    page.wait_for_selector(".usermenu")
    seen = {}
    for path in _page_paths(app, world):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        if violations:
            seen[path] = list(violations)
            violations.clear()
    assert seen == {}


def test_inline_script_is_refused(page, live_server):
    """The policy is in force: a script injected into a page does not run."""
    violations = _violations(page)
    page.goto("/login")
    page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.injected = true'; document.body.append(s); }"""
    )
    assert page.evaluate("() => window.injected === undefined")
    assert violations
