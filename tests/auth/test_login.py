"""Logging in and out, throttling, and the CSRF rule on the login form."""

from sqlalchemy import func, select

from helpdesk.auth.models import LoginAttempt
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import csrf_token, login, post_form


def test_login_with_correct_password_opens_the_app(client, agent):
    response = login(client, agent.email)
    assert response.headers["Location"] == "/"
    assert client.get("/customers").status_code == 200


def test_login_with_wrong_password_is_refused_and_recorded(client, agent, session):
    response = post_form(client, "/login", {"email": agent.email, "password": "wrong password"})
    assert response.status_code == 401
    assert b"Wrong email or password" in response.data
    assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 1


def test_login_without_csrf_token_is_refused(client, agent):
    response = client.post("/login", data={"email": agent.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 400
    assert client.get("/customers").status_code == 302


def test_login_is_throttled_after_repeated_failures_even_with_right_password(client, agent):
    for _ in range(5):
        post_form(client, "/login", {"email": agent.email, "password": "nope nope nope"})
    response = post_form(client, "/login", {"email": agent.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed attempts" in response.data


def test_session_cookie_is_httponly_and_samesite(client, agent):
    response = login(client, agent.email)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_logout_requires_post_with_token(agent_client):
    assert agent_client.get("/logout").status_code == 405
    response = agent_client.post("/logout", data={"csrf_token": csrf_token(agent_client)})
    assert response.status_code == 302
    assert agent_client.get("/customers").status_code == 302
