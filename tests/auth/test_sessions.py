"""Finding 6: sessions end on the server's word. A login cookie names the user's session
version; logout, a password change, a role change, deactivation and "log out everywhere
else" move the version on, and older cookies (copied or left on another computer) stop
working."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.auth.models import User
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import login, post_form

NEW_PASSWORD = "a brand new passphrase"


def copy_session(source, app):
    """A second browser holding an exact copy of `source`'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", source.get_cookie("session").value)
    return thief


def logged_in(client) -> bool:
    response = client.get("/preferences")
    return response.status_code == 200


@pytest.fixture
def other_browser(app, agent):
    """The agent logged in a second time, elsewhere."""
    client = app.test_client()
    login(client, agent.email)
    return client


def _edit(admin_client, user, **changes):
    values = {"name": user.name, "role": user.role.value, "is_active": "y", "password": ""}
    values.update(changes)
    values = {name: value for name, value in values.items() if value is not None}
    return post_form(admin_client, f"/admin/users/{user.id}", values)


def test_a_copied_cookie_works_while_the_session_lasts(app, agent_client):
    assert logged_in(copy_session(agent_client, app))


def test_a_copied_cookie_is_refused_after_logout(app, agent_client):
    thief = copy_session(agent_client, app)

    post_form(agent_client, "/logout")

    assert not logged_in(agent_client)
    assert not logged_in(thief)


def test_logout_ends_the_session_on_every_device(agent_client, other_browser):
    post_form(agent_client, "/logout")

    assert not logged_in(other_browser)


def test_changing_ones_password_ends_other_sessions_and_keeps_this_one(
    app, agent_client, other_browser
):
    thief = copy_session(agent_client, app)

    response = post_form(
        agent_client,
        "/preferences/password",
        {
            "current_password": DEFAULT_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    assert logged_in(agent_client)
    assert not logged_in(other_browser)
    assert not logged_in(thief)


def test_an_admin_setting_a_users_password_ends_their_sessions(
    admin, agent, admin_client, other_browser
):
    assert _edit(admin_client, agent, password=NEW_PASSWORD).status_code == 302
    assert not logged_in(other_browser)


def test_a_role_change_ends_the_users_sessions(admin, agent, admin_client, other_browser):
    assert _edit(admin_client, agent, role="marketer").status_code == 302
    assert not logged_in(other_browser)


def test_deactivation_ends_the_users_sessions(admin, agent, admin_client, other_browser, session):
    assert _edit(admin_client, agent, is_active=None).status_code == 302
    assert not logged_in(other_browser)
    session.expire_all()
    user = session.scalars(select(User).where(User.id == agent.id)).one()
    user.is_active = True
    session.commit()
    # Reactivated, the old cookie still does not come back to life.
    assert not logged_in(other_browser)


def test_saving_a_user_unchanged_keeps_their_sessions(admin, agent, admin_client, other_browser):
    assert _edit(admin_client, agent, name="Alex A. Agent").status_code == 302
    assert logged_in(other_browser)


def test_an_admin_editing_their_own_password_stays_logged_in(admin, admin_client):
    assert _edit(admin_client, admin, password=NEW_PASSWORD).status_code == 302
    assert logged_in(admin_client)


def test_log_out_everywhere_else_ends_other_sessions_and_keeps_this_one(
    app, agent_client, other_browser
):
    thief = copy_session(agent_client, app)

    response = post_form(agent_client, "/preferences/sessions")

    assert response.status_code == 302
    assert logged_in(agent_client)
    assert not logged_in(other_browser)
    assert not logged_in(thief)


def test_log_out_everywhere_else_needs_the_csrf_token(agent_client, other_browser):
    assert agent_client.post("/preferences/sessions").status_code == 400
    assert logged_in(other_browser)


@pytest.mark.parametrize(
    "user_id", ["{id}", "{id}:", "{id}:x", "{id}:-1", ":0", "{id}:0:0", "{id}:" + "9" * 50]
)
def test_a_cookie_naming_the_user_without_the_current_version_logs_no_one_in(
    agent_client, agent, user_id
):
    with agent_client.session_transaction() as cookie_session:
        cookie_session["_user_id"] = user_id.format(id=agent.id)
    assert not logged_in(agent_client)


def test_a_cookie_with_the_current_version_logs_in(agent_client, agent):
    with agent_client.session_transaction() as cookie_session:
        cookie_session["_user_id"] = f"{agent.id}:{agent.session_version}"
    assert logged_in(agent_client)
