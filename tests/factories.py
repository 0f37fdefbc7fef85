"""Plain factory functions: each makes one committed row with sensible defaults."""

from __future__ import annotations

from helpdesk.auth import service as auth_service

DEFAULT_PASSWORD = "correct horse battery"


def make_user(session, **overrides):
    values = {
        "email": "user@example.com",
        "name": "Test User",
        "password": DEFAULT_PASSWORD,
        "role": "agent",
    } | overrides
    user = auth_service.create_user(session, **values)
    session.commit()
    return user
