"""Test helpers: driving the web app the way a browser would (with CSRF tokens), free ports."""

from __future__ import annotations

import re
import socket

from tests.factories import DEFAULT_PASSWORD

_META_TOKEN = re.compile(rb'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client) -> str:
    response = client.get("/login", follow_redirects=True)
    match = _META_TOKEN.search(response.data)
    assert match, "page has no CSRF token"
    return match.group(1).decode()


def post_form(client, url: str, data: dict | None = None, **kwargs):
    payload = dict(data or {})
    payload.setdefault("csrf_token", csrf_token(client))
    return client.post(url, data=payload, **kwargs)


def login(client, email: str, password: str = DEFAULT_PASSWORD):
    response = post_form(client, "/login", {"email": email, "password": password})
    assert response.status_code == 302, response.data[:500]
    return response


def browser_login(page, email: str, password: str = DEFAULT_PASSWORD) -> None:
    """Log in through the login page in the browser under test."""
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
