"""The API's route table: every resource route names a known scope, and without a token
every one answers 401 problem+json and changes nothing."""

from __future__ import annotations

import re

from helpdesk.api.routing import ROUTES
from helpdesk.api.scopes import SCOPES


def test_every_route_requires_a_known_scope():
    assert ROUTES
    assert [route.endpoint for route in ROUTES if route.scope not in SCOPES] == []


def test_every_route_without_a_token_is_refused_and_changes_nothing(api, session, agent):
    from tests.auth.test_public_routes import _database

    before = _database(session)
    for route in ROUTES:
        path = re.sub(r"\{\w+\}", "1", route.path)
        response = api.request(route.method, path, json={} if route.body else None)
        assert response.status_code == 401, (route.method, path)
        assert response.headers["content-type"] == "application/problem+json"
    assert _database(session) == before
