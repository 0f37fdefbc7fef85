"""Bearer tokens over real HTTP: what is accepted, what is refused, and scopes by role."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk.api.models import ApiToken, TokenKind
from helpdesk.api.scopes import ROLE_SCOPES, SCOPES
from helpdesk.db import utcnow
from tests.api.conftest import bearer
from tests.factories import make_api_token, make_user
from tests.helpers import login

PROBLEM = "application/problem+json"


def test_request_without_token_is_refused_with_a_problem(api):
    response = api.get("/customers")

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_valid_token_lists_customers_and_notes_last_use(api, session, agent):
    secret = make_api_token(session, agent, scopes=["customers:read"])

    response = api.get("/customers", headers=bearer(secret))

    assert response.status_code == 200
    assert response.json() == {"data": [], "next_cursor": None}
    session.expire_all()
    assert session.query(ApiToken).one().last_used_at is not None


def test_unknown_token_is_refused(api):
    response = api.get("/customers", headers=bearer("hd_not-a-token"))

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_revoked_token_is_refused(api, session, agent):
    from helpdesk.api import tokens

    secret = make_api_token(session, agent)
    tokens.revoke_token(session, session.query(ApiToken).one())
    session.commit()

    assert api.get("/customers", headers=bearer(secret)).status_code == 401


def test_expired_token_is_refused(api, session, agent):
    secret = make_api_token(session, agent, expires_in_days=1)
    token = session.query(ApiToken).one()
    token.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()

    assert api.get("/customers", headers=bearer(secret)).status_code == 401


def test_token_of_a_deactivated_user_is_refused(api, session, agent):
    secret = make_api_token(session, agent)
    agent.is_active = False
    session.commit()

    assert api.get("/customers", headers=bearer(secret)).status_code == 401


def test_logged_in_session_cookie_alone_does_not_open_the_api(api, api_server, admin, client):
    login(client, admin.email)
    cookie = client.get_cookie("session")
    assert cookie is not None

    response = api.get("/customers", headers={"Cookie": f"session={cookie.value}"})

    assert response.status_code == 401


def test_posts_need_no_csrf_token(api, session, agent):
    secret = make_api_token(session, agent, scopes=["customers:write"])

    response = api.post("/customers", headers=bearer(secret), json={"email": "a@example.com"})

    assert response.status_code == 201


# One route per scope the resources in this module serve.
_PROBES = {
    "customers:read": ("GET", "/customers", None),
    "customers:write": ("POST", "/customers", {"email": "probe@example.com"}),
}


@pytest.mark.parametrize("role", ["admin", "agent", "marketer"])
@pytest.mark.parametrize("scope", sorted(_PROBES))
def test_scope_works_only_when_the_role_allows_it(api, session, role, scope):
    user = make_user(session, role=role, email=f"{role}@example.com")
    method, path, body = _PROBES[scope]
    if scope in ROLE_SCOPES[user.role]:
        secret = make_api_token(session, user, scopes=[scope])
        response = api.request(method, path, headers=bearer(secret), json=body)
        assert response.status_code in (200, 201)
    else:
        with pytest.raises(ValueError):
            make_api_token(session, user, scopes=[scope])


def test_token_without_the_scope_gets_403(api, session, agent):
    secret = make_api_token(session, agent, scopes=["customers:read"])

    response = api.post("/customers", headers=bearer(secret), json={"email": "a@example.com"})

    assert response.status_code == 403
    assert response.json()["title"] == "Insufficient scope"
    assert api.get("/customers", headers=bearer(secret)).json()["data"] == []


def test_personal_token_loses_scopes_its_owner_loses(session):
    from helpdesk.api import tokens

    user = make_user(session, role="agent", email="a@example.com")
    secret = make_api_token(session, user, scopes=["tickets:read", "customers:read"])
    user.role = "marketer"
    session.commit()

    assert tokens.authenticate(session, secret).scopes == {"customers:read"}


@pytest.mark.parametrize("role", ["agent", "marketer"])
def test_only_the_admin_role_can_grant_every_scope(session, role):
    from helpdesk.api import tokens

    user = make_user(session, role=role, email=f"{role}@example.com")
    refused = [s for s in SCOPES if s not in ROLE_SCOPES[user.role]]

    with pytest.raises(tokens.TokenInvalid) as info:
        make_api_token(session, user, scopes=refused[:1])

    assert "scopes" in info.value.errors
    assert session.query(ApiToken).count() == 0


def test_only_admins_make_service_tokens(session, agent, admin):
    from helpdesk.api import tokens

    with pytest.raises(tokens.TokenInvalid):
        make_api_token(session, agent, kind=TokenKind.service, scopes=["customers:read"])
    make_api_token(session, admin, kind=TokenKind.service, scopes=list(SCOPES))

    assert session.query(ApiToken).one().user_id is None


def test_token_is_stored_only_as_its_hash(session, agent):
    secret = make_api_token(session, agent)
    token = session.query(ApiToken).one()

    assert secret not in (token.token_hash, token.prefix)
    assert secret.startswith(token.prefix)
