"""A `next` parameter sends the browser only to a path on our own site: the known ways
past a naive check, at the login page (after logging in) and the language switch (no
login), and a property over any string the check accepts."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask, redirect
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.web.redirects import safe_redirect_target
from tests.helpers import post_form

OUR_BASE = "http://helpdesk.test/login"
OUR_HOST = "helpdesk.test"

# As written in the URL's query string (so `%09` is a TAB once decoded, `%2509` the
# three characters `%09`).
BYPASSES = [
    "/%09/evil.example",
    "/%0d%0a/evil.example",
    "/%0a/evil.example",
    "%09//evil.example",
    "/%5c/evil.example",
    "/%5cevil.example",
    "%5c/evil.example",
    "%5c%5cevil.example",
    "/%2509/evil.example",
    "/%255c/evil.example",
    "//evil.example",
    "///evil.example",
    "////evil.example",
    "/.//evil.example",
    "/%2e//evil.example",
    "/..//evil.example",
    "%ef%bc%8f%ef%bc%8fevil.example",  # fullwidth solidus twice
    "/%ef%bc%8fevil.example",  # slash + fullwidth solidus
    "/%ef%bc%bcevil.example",  # slash + fullwidth reverse solidus
    "/%e3%80%82/evil.example",  # ideographic full stop as a dot segment
    "//evil%e3%80%82example",
    "https:evil.example",
    "https:/evil.example",
    "https://evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "%20//evil.example",
    "/%00/evil.example",
    "evil.example",
]


def _browser_resolves(location: str, base: str = OUR_BASE) -> str:
    """The URL a browser goes to for this Location: it drops TAB/CR/LF, trims controls
    and spaces at the ends and reads backslashes as slashes (WHATWG URL parser)."""
    cleaned = re.sub(r"[\t\r\n]", "", location).strip("".join(map(chr, range(0x21))))
    return urljoin(base, cleaned.replace("\\", "/"))


def _stays_home(location: str) -> bool:
    resolved = urlsplit(_browser_resolves(location))
    return resolved.hostname == OUR_HOST and not resolved.path.startswith("//")


@pytest.mark.parametrize("raw_next", BYPASSES)
def test_login_does_not_redirect_off_site_through_next(client, agent, raw_next):
    response = post_form(
        client,
        f"/login?next={raw_next}",
        {"email": agent.email, "password": "correct horse battery"},
    )
    _assert_sent_home_or_refused(response)


@pytest.mark.parametrize("raw_next", BYPASSES)
def test_language_switch_does_not_redirect_off_site_through_next(client, raw_next):
    response = client.get(f"/language/ko?next={raw_next}")
    _assert_sent_home_or_refused(response)


def _assert_sent_home_or_refused(response) -> None:
    """To the default page, or a 400 for a request no browser sends (a NUL)."""
    assert response.status_code in (302, 400)
    assert response.headers.get("Location", "/") == "/"


@pytest.mark.parametrize(
    "target", ["/faq", "/tickets?view=mine&page=2", "/faq/ko/%ED%95%9C", "/customers?q=a//b"]
)
def test_language_switch_returns_to_a_path_on_our_site(client, target):
    response = client.get("/language/ko", query_string={"next": target})
    assert response.headers["Location"] == target


def test_login_returns_to_the_page_that_asked_for_it(client, agent):
    response = post_form(
        client,
        "/login?next=/customers%3Fq%3Dkim",
        {"email": agent.email, "password": "correct horse battery"},
    )
    assert response.headers["Location"] == "/customers?q=kim"


def _location_werkzeug_sends(target: str) -> str:
    app = Flask(__name__)
    with app.test_request_context(base_url="http://helpdesk.test/"):
        return redirect(target).headers["Location"]


URLISH = st.text(
    alphabet=st.sampled_from(list("/\\.:%@?#&=-_ a9\t\r\n\x00\x0b\x7f") + ["／", "＼", "。", "．"]),
    max_size=12,
)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(URLISH, st.text(max_size=12)))
def test_any_accepted_target_resolves_to_our_own_host(target):
    accepted = safe_redirect_target(target, default="/refused")
    assert _stays_home(_location_werkzeug_sends(accepted)), (target, accepted)
