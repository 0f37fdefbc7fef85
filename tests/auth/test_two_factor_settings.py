"""Turning two-factor login on and off on the preferences page, and the admin's policy
that requires it for all staff and the admin's reset."""

import re

import pyotp
import pytest

from helpdesk.auth import two_factor
from tests.auth.two_factor_support import code, turn_on
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import login, post_form

SECRET_SHOWN = re.compile(r"data-secret>([A-Z2-7]{32})<")


def shown_secret(response) -> str:
    match = SECRET_SHOWN.search(response.get_data(as_text=True))
    assert match, "the set-up page shows the secret as text"
    return match.group(1)


def is_logged_in(client) -> bool:
    return client.get("/customers").status_code == 200


def test_preferences_page_offers_the_set_up(agent_client):
    page = agent_client.get("/preferences").get_data(as_text=True)
    assert 'id="two-factor"' in page
    assert "/preferences/two-factor" in page


def test_set_up_page_draws_the_qr_code_itself_and_shows_the_secret(agent_client):
    response = agent_client.get("/preferences/two-factor")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'<div class="qr" data-qr><svg[^>]*>.*</svg>', page, re.S)
    assert "http" not in page[page.index("data-qr") : page.index("</svg>")].replace(
        "http://www.w3.org/2000/svg", ""
    )
    assert len(shown_secret(response)) == 32


def test_confirming_with_a_code_turns_it_on_and_shows_recovery_codes_once(
    agent_client, session, agent
):
    secret = shown_secret(agent_client.get("/preferences/two-factor"))
    response = post_form(
        agent_client, "/preferences/two-factor", {"code": pyotp.TOTP(secret).now()}
    )
    assert response.status_code == 200
    shown = re.findall(r"<code>([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</code>", response.get_data(True))
    assert len(shown) == 10
    assert two_factor.is_enabled(session, agent.id)
    manage = agent_client.get("/preferences/two-factor").get_data(as_text=True)
    assert shown[0] not in manage
    assert "Unused recovery codes: 10" in manage


@pytest.mark.parametrize("typed", ["000000", "12", "not a code"])
def test_a_wrong_or_malformed_code_keeps_it_off(agent_client, session, agent, typed):
    agent_client.get("/preferences/two-factor")
    response = post_form(agent_client, "/preferences/two-factor", {"code": typed})
    assert response.status_code == 400
    assert not two_factor.is_enabled(session, agent.id)


def test_the_set_up_without_a_csrf_token_is_refused(agent_client, session, agent):
    secret = shown_secret(agent_client.get("/preferences/two-factor"))
    response = agent_client.post("/preferences/two-factor", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 400
    assert not two_factor.is_enabled(session, agent.id)


def test_turning_off_needs_the_password_and_a_code(agent_client, session, agent):
    secret, _codes = turn_on(session, agent)
    response = post_form(
        agent_client,
        "/preferences/two-factor/turn-off",
        {"password": DEFAULT_PASSWORD, "code": code(secret, 1)},
    )
    assert response.status_code == 302
    assert not two_factor.is_enabled(session, agent.id)


@pytest.mark.parametrize(
    "form",
    [
        {"password": "wrong password", "code": "CODE"},
        {"password": DEFAULT_PASSWORD, "code": "000000"},
        {"password": DEFAULT_PASSWORD, "code": ""},
        {"password": "", "code": "CODE"},
    ],
)
def test_turning_off_with_a_wrong_password_or_code_keeps_it_on(agent_client, session, agent, form):
    secret, _codes = turn_on(session, agent)
    form = {k: code(secret, 1) if v == "CODE" else v for k, v in form.items()}
    response = post_form(agent_client, "/preferences/two-factor/turn-off", form)
    assert response.status_code == 400
    assert two_factor.is_enabled(session, agent.id)


def test_turning_off_without_a_csrf_token_is_refused(agent_client, session, agent):
    secret, _codes = turn_on(session, agent)
    response = agent_client.post(
        "/preferences/two-factor/turn-off",
        data={"password": DEFAULT_PASSWORD, "code": code(secret, 1)},
    )
    assert response.status_code == 400
    assert two_factor.is_enabled(session, agent.id)


def test_new_recovery_codes_need_a_code_and_replace_the_old_ones(agent_client, session, agent):
    secret, old = turn_on(session, agent)
    refused = post_form(agent_client, "/preferences/two-factor/recovery-codes", {"code": "000000"})
    assert refused.status_code == 400
    response = post_form(
        agent_client, "/preferences/two-factor/recovery-codes", {"code": code(secret, 1)}
    )
    assert response.status_code == 200
    assert old[0] not in response.get_data(as_text=True)
    with pytest.raises(two_factor.CodeRejected):
        two_factor.verify_code(
            session,
            agent.id,
            old[0],
            two_factor.SecretCipher("test-secret-key"),
            two_factor.CodePolicy(),
        )


# The admin's policy ---------------------------------------------------------------------


def enforce(session):
    two_factor.set_enforced(session, True)
    session.commit()


def test_admin_requires_two_factor_for_all_staff(admin_client, session):
    response = post_form(admin_client, "/admin/two-factor", {"enforced": "y"})
    assert response.status_code == 302
    assert two_factor.is_enforced(session)


def test_the_policy_without_a_csrf_token_is_refused(admin_client, session):
    response = admin_client.post("/admin/two-factor", data={"enforced": "y"})
    assert response.status_code == 400
    assert not two_factor.is_enforced(session)


def test_when_required_a_user_without_it_is_sent_to_set_up_after_the_password(
    client, session, agent
):
    enforce(session)
    response = login(client, agent.email)
    assert response.headers["Location"] == "/login/two-factor-setup"
    for path in ("/customers", "/preferences", "/"):
        assert client.get(path).headers["Location"].startswith("/login"), path
    secret = shown_secret(client.get("/login/two-factor-setup"))
    response = post_form(client, "/login/two-factor-setup", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    assert "I have saved them" in response.get_data(as_text=True)
    assert is_logged_in(client)


def test_a_set_up_finished_in_another_tab_is_not_offered_again(app, session, agent):
    enforce(session)
    first, second = app.test_client(), app.test_client()
    login(first, agent.email)
    login(second, agent.email)
    secret = shown_secret(first.get("/login/two-factor-setup"))
    post_form(first, "/login/two-factor-setup", {"code": pyotp.TOTP(secret).now()})
    reload = second.get("/login/two-factor-setup")
    assert reload.headers["Location"] == "/login"
    stale = post_form(second, "/login/two-factor-setup", {"code": "000000"})
    assert stale.headers["Location"] == "/login"
    assert not is_logged_in(second)


def test_when_required_a_wrong_set_up_code_leaves_the_user_logged_out(client, session, agent):
    enforce(session)
    login(client, agent.email)
    client.get("/login/two-factor-setup")
    response = post_form(client, "/login/two-factor-setup", {"code": "000000"})
    assert response.status_code == 400
    assert not is_logged_in(client)


def test_when_required_a_logged_in_user_without_it_can_use_nothing_but_the_set_up(
    agent_client, session
):
    enforce(session)
    response = agent_client.get("/customers")
    assert response.headers["Location"] == "/login/two-factor-setup"
    assert agent_client.get("/customers").headers["Location"].startswith("/login")
    assert agent_client.get("/login/two-factor-setup").status_code == 200


def test_when_required_a_user_with_it_logs_in_as_usual(client, session, agent):
    secret, _codes = turn_on(session, agent)
    enforce(session)
    login(client, agent.email)
    post_form(client, "/login/code", {"code": code(secret, 1)})
    assert is_logged_in(client)


def test_when_required_it_cannot_be_turned_off(agent_client, session, agent):
    secret, _codes = turn_on(session, agent)
    enforce(session)
    response = post_form(
        agent_client,
        "/preferences/two-factor/turn-off",
        {"password": DEFAULT_PASSWORD, "code": code(secret, 1)},
    )
    assert response.status_code == 400
    assert two_factor.is_enabled(session, agent.id)


def test_admin_resets_a_users_two_factor_login(admin_client, app, session, agent):
    turn_on(session, agent)
    page = admin_client.get("/admin/two-factor").get_data(as_text=True)
    assert f"/admin/two-factor/{agent.id}/reset" in page
    response = post_form(admin_client, f"/admin/two-factor/{agent.id}/reset")
    assert response.status_code == 302
    assert not two_factor.is_enabled(session, agent.id)
    other = app.test_client()
    assert login(other, agent.email).headers["Location"] == "/"


def test_a_reset_without_a_csrf_token_is_refused(admin_client, session, agent):
    turn_on(session, agent)
    response = admin_client.post(f"/admin/two-factor/{agent.id}/reset")
    assert response.status_code == 400
    assert two_factor.is_enabled(session, agent.id)


def test_a_reset_of_an_unknown_user_is_not_found(admin_client):
    assert post_form(admin_client, "/admin/two-factor/999999/reset").status_code == 404
