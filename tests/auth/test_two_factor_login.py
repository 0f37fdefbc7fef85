"""Logging in with two-factor login through the pages: the code step after the password,
which opens nothing by itself, and its refusals (wrong, malformed, reused or used-up codes,
too many tries, a missing CSRF token, an expired step)."""

import time

import pytest

from helpdesk.auth.two_factor_models import TwoFactorSecret
from tests.auth.two_factor_support import code, turn_on
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import csrf_token, login, post_form


@pytest.fixture
def secured(session, agent):
    """The agent with two-factor login on: (secret, recovery codes)."""
    return turn_on(session, agent)


def password_step(client, email, next_target=None):
    url = "/login" + (f"?next={next_target}" if next_target else "")
    return (
        login(client, email)
        if next_target is None
        else post_form(client, url, {"email": email, "password": DEFAULT_PASSWORD})
    )


def is_logged_in(client) -> bool:
    return client.get("/customers").status_code == 200


def test_a_correct_password_alone_does_not_log_in_a_user_with_two_factor(client, agent, secured):
    response = password_step(client, agent.email)
    assert response.headers["Location"] == "/login/code"
    for path in ("/customers", "/preferences", "/", "/preferences/two-factor"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login"), path


def test_the_right_code_completes_the_login(client, agent, secured):
    secret, _codes = secured
    password_step(client, agent.email)
    response = post_form(client, "/login/code", {"code": code(secret, 1)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert is_logged_in(client)


def test_the_login_goes_on_to_the_page_asked_for(client, agent, secured):
    secret, _codes = secured
    password_step(client, agent.email, next_target="/customers?tag=vip")
    response = post_form(client, "/login/code", {"code": code(secret, 1)})
    assert response.headers["Location"] == "/customers?tag=vip"


def test_an_overlong_page_to_go_on_to_is_dropped_not_kept_in_the_cookie(client, agent, secured):
    secret, _codes = secured
    password_step(client, agent.email, next_target="/customers?q=" + "x" * 5000)
    response = post_form(client, "/login/code", {"code": code(secret, 1)})
    assert response.headers["Location"] == "/"


def test_a_wrong_code_is_refused_and_leaves_the_user_logged_out(client, agent, secured):
    secret, _codes = secured
    password_step(client, agent.email)
    response = post_form(client, "/login/code", {"code": code(secret, 10)})
    assert response.status_code == 401
    assert b"That code is not right" in response.data
    assert not is_logged_in(client)


@pytest.mark.parametrize("malformed", ["", "12 34", "abcdefg", "<script>", "9" * 65])
def test_a_malformed_code_is_refused_with_a_clear_error(client, session, agent, secured, malformed):
    password_step(client, agent.email)
    response = post_form(client, "/login/code", {"code": malformed})
    assert response.status_code == 400
    assert not is_logged_in(client)
    session.rollback()
    assert session.get(TwoFactorSecret, agent.id).attempts == 0


def test_a_code_used_once_cannot_log_in_again(app, agent, secured):
    secret, _codes = secured
    first, second = app.test_client(), app.test_client()
    used = code(secret, 1)
    password_step(first, agent.email)
    assert post_form(first, "/login/code", {"code": used}).status_code == 302
    password_step(second, agent.email)
    response = post_form(second, "/login/code", {"code": used})
    assert response.status_code == 401
    assert b"used already" in response.data
    assert not is_logged_in(second)


def test_a_recovery_code_logs_in_once(app, agent, secured):
    _secret, codes = secured
    first, second = app.test_client(), app.test_client()
    password_step(first, agent.email)
    assert post_form(first, "/login/code", {"code": codes[0]}).status_code == 302
    assert is_logged_in(first)
    password_step(second, agent.email)
    response = post_form(second, "/login/code", {"code": codes[0]})
    assert response.status_code == 401
    assert not is_logged_in(second)


def test_the_code_step_without_a_csrf_token_is_refused(client, agent, secured):
    secret, _codes = secured
    password_step(client, agent.email)
    response = client.post("/login/code", data={"code": code(secret, 1)})
    assert response.status_code == 400
    assert not is_logged_in(client)


def test_too_many_wrong_codes_refuse_even_the_right_one(client, session, agent, secured):
    secret, _codes = secured
    password_step(client, agent.email)
    for _ in range(5):
        assert post_form(client, "/login/code", {"code": code(secret, 10)}).status_code == 401
    response = post_form(client, "/login/code", {"code": code(secret, 1)})
    assert response.status_code == 429
    assert b"Too many wrong codes" in response.data
    assert not is_logged_in(client)


def test_the_code_page_without_the_password_step_sends_to_login(client, agent, secured):
    secret, _codes = secured
    response = post_form(client, "/login/code", {"code": code(secret, 1)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert not is_logged_in(client)


def test_a_password_step_older_than_five_minutes_must_be_repeated(client, agent, secured):
    secret, _codes = secured
    password_step(client, agent.email)
    with client.session_transaction() as flask_session:
        pending = flask_session["two_factor_pending"]
        flask_session["two_factor_pending"] = pending | {"since": int(time.time()) - 301}
    response = post_form(client, "/login/code", {"code": code(secret, 1)})
    assert response.headers["Location"] == "/login"
    assert not is_logged_in(client)


def test_a_deactivated_user_cannot_finish_the_code_step(client, session, agent, secured):
    secret, _codes = secured
    password_step(client, agent.email)
    agent.is_active = False
    session.commit()
    response = post_form(client, "/login/code", {"code": code(secret, 1)})
    assert response.headers["Location"] == "/login"
    assert not is_logged_in(client)


def test_a_user_without_two_factor_logs_in_with_the_password_alone(client, agent):
    assert password_step(client, agent.email).headers["Location"] == "/"
    assert is_logged_in(client)


def test_a_post_to_a_staff_page_during_the_code_step_is_sent_to_login(client, agent, secured):
    password_step(client, agent.email)
    response = client.post("/preferences", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
