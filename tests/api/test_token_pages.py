"""The token pages: a personal token on the preferences pages, service tokens for admins;
shown once, stored hashed, scopes limited by role, revocable."""

from __future__ import annotations

import re

from helpdesk.api.models import ApiToken, TokenKind
from helpdesk.api.tokens import hash_secret
from tests.helpers import post_form


def _shown_secret(response) -> str:
    match = re.search(rb'<code id="new-token">([^<]+)</code>', response.data)
    assert match, "the new token is not on the page"
    return match.group(1).decode()


def test_personal_token_is_shown_once_and_stored_hashed(agent_client, session):
    response = post_form(
        agent_client, "/preferences/api-tokens", {"name": "laptop", "scopes": ["customers:read"]}
    )

    secret = _shown_secret(response)
    token = session.query(ApiToken).one()
    assert token.token_hash == hash_secret(secret)
    assert (token.kind, token.scopes) == (TokenKind.personal, ["customers:read"])
    assert secret.encode() not in agent_client.get("/preferences/api-tokens").data


def test_agent_cannot_grant_campaign_scopes(agent_client, session):
    response = post_form(
        agent_client, "/preferences/api-tokens", {"name": "x", "scopes": ["campaigns:write"]}
    )

    assert response.status_code == 400
    assert b"campaigns:write" in response.data
    assert session.query(ApiToken).count() == 0


def test_token_without_a_name_is_refused(agent_client, session):
    response = post_form(agent_client, "/preferences/api-tokens", {"scopes": ["customers:read"]})

    assert response.status_code == 400
    assert b"Give the token a name." in response.data
    assert session.query(ApiToken).count() == 0


def test_admin_makes_a_service_token(admin_client, session):
    response = post_form(
        admin_client, "/admin/api-tokens", {"name": "shop", "scopes": ["purchases:write"]}
    )

    _shown_secret(response)
    token = session.query(ApiToken).one()
    assert (token.kind, token.user_id) == (TokenKind.service, None)


def test_owner_revokes_a_token(agent_client, session):
    post_form(agent_client, "/preferences/api-tokens", {"name": "x", "scopes": ["faq:read"]})
    token = session.query(ApiToken).one()

    response = post_form(agent_client, f"/api-tokens/{token.id}/revoke")

    assert response.status_code == 302
    session.rollback()  # a new transaction sees what the request committed
    assert session.get(ApiToken, token.id).revoked_at is not None


def test_revoking_someone_elses_token_is_forbidden(client, session, agent, marketer):
    from tests.factories import make_api_token
    from tests.helpers import login

    make_api_token(session, agent)
    token = session.query(ApiToken).one()
    login(client, marketer.email)

    response = post_form(client, f"/api-tokens/{token.id}/revoke")

    assert response.status_code == 403
    session.rollback()
    assert session.get(ApiToken, token.id).revoked_at is None
