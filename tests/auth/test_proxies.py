"""Behind TRUSTED_PROXIES reverse proxies the client's own address counts (throttling);
without them, a forged X-Forwarded-For header changes nothing."""

import pytest
from sqlalchemy import select

from helpdesk import create_app
from helpdesk.auth.models import LoginAttempt
from tests.helpers import post_form

FORWARDED = {"X-Forwarded-For": "203.0.113.7"}


@pytest.fixture
def proxied_client(app, config):
    return create_app(config.with_overrides(trusted_proxies=1)).test_client()


def _failed_login(client) -> None:
    post_form(client, "/login", {"email": "a@example.com", "password": "wrong"}, headers=FORWARDED)


def _recorded_ip(session) -> str:
    ip = session.scalars(select(LoginAttempt.ip)).one()
    session.commit()
    return ip


def test_behind_a_trusted_proxy_the_forwarded_client_address_is_recorded(proxied_client, session):
    _failed_login(proxied_client)
    assert _recorded_ip(session) == "203.0.113.7"


def test_without_trusted_proxies_a_forwarded_address_is_ignored(client, session):
    _failed_login(client)
    assert _recorded_ip(session) == "127.0.0.1"
