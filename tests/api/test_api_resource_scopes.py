"""Every scope of the tickets, FAQ and campaigns areas × every role: a token gets the
scope only where the role allows it (helpdesk.api.scopes), and then it works."""

from __future__ import annotations

import pytest

from helpdesk.api.scopes import ROLE_SCOPES
from tests.api.conftest import bearer
from tests.factories import make_api_token, make_mailbox, make_user

# One request per scope that succeeds on an empty database (with a mailbox).
_PROBES = {
    "tickets:read": ("GET", "/tickets", None),
    "tickets:write": (
        "POST",
        "/tickets",
        {"customer_email": "probe@example.com", "subject": "Probe", "body": "Hello"},
    ),
    "faq:read": ("GET", "/faq/articles", None),
    "faq:write": ("POST", "/faq/articles", {"title": "Probe", "body": "Answer"}),
    "campaigns:read": ("GET", "/campaigns", None),
    "campaigns:write": ("POST", "/suppressions", {"email": "probe@example.com"}),
}


@pytest.mark.parametrize("role", ["admin", "agent", "marketer"])
@pytest.mark.parametrize("scope", sorted(_PROBES))
def test_scope_works_only_when_the_role_allows_it(api, session, role, scope):
    user = make_user(session, role=role, email=f"{role}@example.com")
    method, path, body = _PROBES[scope]
    if scope in ROLE_SCOPES[user.role]:
        make_mailbox(session)
        secret = make_api_token(session, user, scopes=[scope])
        response = api.request(method, path, headers=bearer(secret), json=body)
        assert response.status_code in (200, 201), response.text
    else:
        with pytest.raises(ValueError):
            make_api_token(session, user, scopes=[scope])


@pytest.mark.parametrize("scope", sorted(_PROBES))
def test_token_without_the_scope_gets_403(api, session, admin, scope):
    other = next(s for s in sorted(_PROBES) if s.split(":")[0] != scope.split(":")[0])
    secret = make_api_token(session, admin, scopes=[other])
    method, path, body = _PROBES[scope]

    response = api.request(method, path, headers=bearer(secret), json=body)

    assert response.status_code == 403
    assert response.json()["title"] == "Insufficient scope"
