"""Changing one's own password on the preferences page: the current password is required,
the new one follows the same rule as new accounts, and other sessions end."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from helpdesk.auth.models import LoginAttempt, User
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import login, post_form

NEW_PASSWORD = "a brand new passphrase"


def change(client, current=DEFAULT_PASSWORD, new=NEW_PASSWORD, confirm=None):
    return post_form(
        client,
        "/preferences/password",
        {
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
        },
    )


def password_hash(session, user_id: int) -> str:
    session.expire_all()
    hash_ = session.scalar(select(User.password_hash).where(User.id == user_id))
    session.commit()
    return hash_


def test_the_preferences_page_offers_the_password_change(agent_client):
    page = agent_client.get("/preferences").get_data(as_text=True)
    assert 'action="/preferences/password"' in page
    assert 'name="current_password"' in page
    assert 'action="/preferences/sessions"' in page


def test_the_new_password_works_and_the_old_one_no_longer(app, agent, agent_client):
    response = change(agent_client)

    assert response.status_code == 302
    assert login(app.test_client(), agent.email, NEW_PASSWORD)
    response = post_form(
        app.test_client(), "/login", {"email": agent.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("not my password", NEW_PASSWORD, NEW_PASSWORD, "The current password is wrong."),
        ("", NEW_PASSWORD, NEW_PASSWORD, "This field is required."),
        (DEFAULT_PASSWORD, "short", "short", "between 10 and 1000 characters"),
        (DEFAULT_PASSWORD, NEW_PASSWORD, "something else entirely", "The two passwords differ."),
        (DEFAULT_PASSWORD, "", "", "This field is required."),
        (DEFAULT_PASSWORD, "x" * 1001, "x" * 1001, "between 10 and 1000 characters"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    agent_client, agent, session, current, new, confirm, message
):
    before = password_hash(session, agent.id)

    response = change(agent_client, current, new, confirm)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert password_hash(session, agent.id) == before
    assert agent_client.get("/preferences").status_code == 200


def test_a_wrong_current_password_counts_as_a_failed_login(agent_client, agent, session):
    change(agent_client, current="not my password")

    failures = session.scalar(
        select(func.count()).where(
            LoginAttempt.email == agent.email, LoginAttempt.succeeded.is_(False)
        )
    )
    assert failures == 1


def test_guessing_the_current_password_is_stopped_like_guessing_a_login(agent_client, agent):
    for _ in range(5):
        assert change(agent_client, current="guess guess").status_code == 400

    response = change(agent_client)

    assert response.status_code == 429
    assert "Too many wrong passwords" in response.get_data(as_text=True)


def test_the_change_needs_the_csrf_token(agent_client, agent, session):
    before = password_hash(session, agent.id)
    response = agent_client.post(
        "/preferences/password",
        data={
            "current_password": DEFAULT_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 400
    assert password_hash(session, agent.id) == before
