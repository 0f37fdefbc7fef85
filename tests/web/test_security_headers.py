"""Security headers on every response: every GET route for every role, the open pixel's
fast path, error pages, and HSTS exactly when the site is served over https."""

from __future__ import annotations

import pytest

from helpdesk import create_app
from tests.factories import make_user
from tests.helpers import login
from tests.web.route_support import path_for

ROLES = ("anonymous", "agent", "marketer", "admin")


def _directives(response) -> dict[str, str]:
    header = response.headers.get("Content-Security-Policy", "")
    pairs = (part.strip().partition(" ") for part in header.split(";") if part.strip())
    return {name: value for name, _, value in pairs}


def _problems(response) -> list[str]:
    policy = _directives(response)
    problems = []
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("X-Content-Type-Options")
    if response.headers.get("Referrer-Policy") not in ("same-origin", "no-referrer"):
        problems.append("Referrer-Policy")
    if response.headers.get("X-Frame-Options") != "DENY":
        problems.append("X-Frame-Options")
    if policy.get("frame-ancestors") != "'none'":
        problems.append("frame-ancestors")
    # No page runs a script that is not a file of ours.
    if "script-src" in policy and policy["script-src"] not in ("'self'", "'none'"):
        problems.append(f"script-src {policy['script-src']}")
    if "script-src" not in policy and policy.get("default-src") not in ("'self'", "'none'"):
        problems.append("no script-src")
    if policy.get("object-src", policy.get("default-src")) != "'none'" and "sandbox" not in policy:
        problems.append("object-src")
    return problems


@pytest.mark.parametrize("role", ROLES)
def test_every_page_carries_the_security_headers(app, client, session, world, role):
    if role != "anonymous":
        login(client, make_user(session, role=role, email=f"{role}@headers.example").email)
    problems = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        response = client.get(path_for(rule, world))
        if found := _problems(response):
            problems[rule.endpoint] = (response.status_code, found)
    assert problems == {}


def test_the_default_policy_allows_only_our_own_scripts_styles_and_images(client):
    policy = _directives(client.get("/login"))
    assert policy["default-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["img-src"] == "'self' data:"
    assert policy["base-uri"] == "'none'"
    assert policy["form-action"] == "'self'"


def test_error_pages_carry_the_security_headers(client):
    assert _problems(client.get("/no/such/page")) == []


def test_a_policy_a_view_sets_is_kept(agent_client, session):
    from tests.factories import make_ticket

    ticket = make_ticket(session)
    response = agent_client.get(f"/tickets/{ticket.id}?remote_images=1")
    assert "https:" in _directives(response)["img-src"]
    assert _directives(response)["frame-ancestors"] == "'none'"


def test_the_open_pixel_fast_path_carries_the_security_headers(client, redis_conn, world):
    response = client.get(world["open_path"])
    assert response.status_code == 200
    assert response.headers.get("X-Content-Type-Options") == "nosniff"


def test_hsts_is_sent_only_when_the_public_url_is_https(config):
    plain = create_app(config).test_client().get("/login")
    secure = create_app(config.with_overrides(public_url="https://helpdesk.test"))
    assert "Strict-Transport-Security" not in plain.headers
    hsts = secure.test_client().get("/login").headers["Strict-Transport-Security"]
    assert hsts.startswith("max-age=31536000")
