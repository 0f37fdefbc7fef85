"""Password reset by mail: a signed link that works once, for a limited time, mailed by
the mail queue's worker through a real SMTP server; the same answer for every address;
limited per address and per IP; setting the password ends every session."""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous import TimestampSigner
from rq import Queue, SimpleWorker
from sqlalchemy import select

from helpdesk.auth.models import User
from helpdesk.auth.password_reset import make_token
from helpdesk.queue import MAIL_QUEUE
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.helpers import login, post_form

NEW_PASSWORD = "a brand new passphrase"
FLASH = re.compile(r'<div class="flash[^"]*"[^>]*>(.*?)</div>', re.S)
LINK = re.compile(r"https://helpdesk\.test(/password/reset/[A-Za-z0-9_.\-]+)")


@pytest.fixture
def mail(worker_env, redis_conn, smtp_handler):
    """Runs the mail queue like worker.py would and returns the messages the relay got."""

    def run():
        SimpleWorker([Queue(MAIL_QUEUE, connection=redis_conn)], connection=redis_conn).work(
            burst=True
        )
        return [item.message for item in smtp_handler.received]

    return run


def ask_for_link(client, email: str):
    return post_form(client, "/password/forgot", {"email": email})


def link_in(message) -> str:
    match = LINK.search(message.get_body(("plain",)).get_content())
    assert match, "the mail carries no reset link"
    return match.group(1)


def set_password(client, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    data = {"new_password": password, "confirm_password": password if confirm is None else confirm}
    return post_form(client, path, data)


def can_log_in(app, email: str, password: str) -> bool:
    response = post_form(app.test_client(), "/login", {"email": email, "password": password})
    return response.status_code == 302


def test_the_login_page_links_to_the_forgot_password_page(client):
    assert 'href="/password/forgot"' in client.get("/login").get_data(as_text=True)


def test_the_mailed_link_sets_a_new_password(app, client, agent, mail, session):
    response = ask_for_link(client, agent.email)
    assert response.status_code == 302
    session.commit()  # SQLite: no read transaction left open while the worker writes

    [message] = mail()
    assert message["To"].addresses[0].addr_spec == agent.email
    assert message["Auto-Submitted"] == "auto-generated"
    path = link_in(message)
    form = client.get(path)
    assert form.status_code == 200
    assert form.headers["Referrer-Policy"] == "no-referrer"

    response = set_password(client, path)

    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert can_log_in(app, agent.email, NEW_PASSWORD)
    assert not can_log_in(app, agent.email, DEFAULT_PASSWORD)


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(
    app, agent, mail, session
):
    known = ask_for_link(app.test_client(), agent.email)
    unknown = ask_for_link(app.test_client(), "nobody@example.com")
    session.commit()

    assert (known.status_code, known.headers["Location"]) == (302, "/login")
    assert (unknown.status_code, unknown.headers["Location"]) == (302, "/login")
    assert [m["To"].addresses[0].addr_spec for m in mail()] == [agent.email]


def test_the_flashed_answer_does_not_say_whether_the_account_exists(app, agent):
    answers = []
    for email in (agent.email, "nobody@example.com"):
        client = app.test_client()
        ask_for_link(client, email)
        page = client.get("/login").get_data(as_text=True)
        answers.append(FLASH.search(page).group(1).replace(email, "ADDRESS"))
    assert answers[0] == answers[1]
    assert answers[0].startswith("If an account uses ADDRESS, a link")


def test_a_deactivated_account_gets_no_mail(client, agent, mail, session):
    agent.is_active = False
    session.commit()
    assert ask_for_link(client, agent.email).status_code == 302
    session.commit()
    assert mail() == []


def test_a_used_link_is_refused(app, client, agent, mail, session):
    ask_for_link(client, agent.email)
    session.commit()
    path = link_in(mail()[0])
    assert set_password(client, path).status_code == 302

    response = set_password(client, path, "yet another passphrase")

    assert response.status_code == 400
    assert "already been used" in response.get_data(as_text=True)
    assert can_log_in(app, agent.email, NEW_PASSWORD)


def test_an_older_link_stops_working_once_a_newer_one_is_used(client, agent, mail, session):
    ask_for_link(client, agent.email)
    ask_for_link(client, agent.email)
    session.commit()
    first, second = (link_in(message) for message in mail())

    assert set_password(client, second).status_code == 302
    assert client.get(first).status_code == 400


def test_an_expired_link_is_refused(app, client, agent, session, monkeypatch):
    lifetime = app.config["HELPDESK"].password_reset_minutes * 60
    issued = int(time.time()) - lifetime - 1
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _signer: issued)
    path = f"/password/reset/{make_token(agent, app.config['SECRET_KEY'])}"
    monkeypatch.undo()

    for response in (client.get(path), set_password(client, path)):
        assert response.status_code == 400
        assert "expired" in response.get_data(as_text=True)
    assert can_log_in(app, agent.email, DEFAULT_PASSWORD)


def test_a_link_just_within_its_lifetime_works(app, client, agent, monkeypatch):
    lifetime = app.config["HELPDESK"].password_reset_minutes * 60
    issued = int(time.time()) - lifetime + 30
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _signer: issued)
    path = f"/password/reset/{make_token(agent, app.config['SECRET_KEY'])}"
    monkeypatch.undo()

    assert client.get(path).status_code == 200


def _flip_first_of_signature(token: str) -> str:
    head, _, signature = token.rpartition(".")
    return f"{head}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"


def _tampered(token: str) -> list[str]:
    payload, _, rest = token.partition(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    return [
        f"{flipped}.{rest}",
        # The signature's first character: its last one may carry only padding bits.
        _flip_first_of_signature(token),
        token + "x",
        token.replace(".", "", 1),
        "",
        "x" * 5000,
        "%00",
    ]


def test_a_tampered_link_is_refused(app, client, agent):
    token = make_token(agent, app.config["SECRET_KEY"])
    for bad in _tampered(token):
        response = client.get(f"/password/reset/{bad}")
        assert response.status_code in (400, 404), bad
        assert set_password(client, f"/password/reset/{bad}").status_code in (400, 404), bad
    assert can_log_in(app, agent.email, DEFAULT_PASSWORD)


def test_a_link_signed_with_another_key_is_refused(app, client, agent):
    path = f"/password/reset/{make_token(agent, 'some other secret')}"
    assert client.get(path).status_code == 400


def test_using_the_link_ends_every_session(app, agent, agent_client, mail, session):
    other_browser = app.test_client()
    login(other_browser, agent.email)
    ask_for_link(app.test_client(), agent.email)
    session.commit()
    path = link_in(mail()[0])

    assert set_password(app.test_client(), path).status_code == 302

    assert agent_client.get("/preferences").status_code == 302
    assert other_browser.get("/preferences").status_code == 302


def test_using_the_link_lifts_the_addresss_login_lockout(app, client, agent):
    for _ in range(5):
        post_form(client, "/login", {"email": agent.email, "password": "guess guess"})
    assert not can_log_in(app, agent.email, DEFAULT_PASSWORD)

    path = f"/password/reset/{make_token(agent, app.config['SECRET_KEY'])}"
    assert set_password(client, path).status_code == 302

    assert can_log_in(app, agent.email, NEW_PASSWORD)


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("short", "short", "between 10 and 1000 characters"),
        ("", "", "This field is required."),
        (NEW_PASSWORD, "something else entirely", "The two passwords differ."),
        ("y" * 1001, "y" * 1001, "between 10 and 1000 characters"),
    ],
)
def test_bad_input_on_the_reset_form_changes_nothing(
    app, client, agent, session, password, confirm, message
):
    path = f"/password/reset/{make_token(agent, app.config['SECRET_KEY'])}"

    response = set_password(client, path, password, confirm)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert can_log_in(app, agent.email, DEFAULT_PASSWORD)
    assert client.get(path).status_code == 200  # the link still works


def test_the_reset_form_needs_the_csrf_token(app, client, agent):
    path = f"/password/reset/{make_token(agent, app.config['SECRET_KEY'])}"
    response = client.post(
        path, data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    assert response.status_code == 400
    assert can_log_in(app, agent.email, DEFAULT_PASSWORD)


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "This field is required."),
        ("not an address", "Invalid email address."),
        ("a" * 330 + "@example.com", "Field cannot be longer than 320 characters."),
    ],
)
def test_bad_input_on_the_forgot_form_is_refused_and_queues_nothing(
    client, redis_conn, email, message
):
    response = ask_for_link(client, email)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert Queue(MAIL_QUEUE, connection=redis_conn).count == 0


def test_requests_for_one_address_are_limited(app, redis_conn):
    for n in range(3):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"192.0.2.{n}"
        assert ask_for_link(client, "someone@example.com").status_code == 302

    response = ask_for_link(app.test_client(), "someone@example.com")

    assert response.status_code == 429
    assert "Too many reset requests" in response.get_data(as_text=True)
    assert Queue(MAIL_QUEUE, connection=redis_conn).count == 3


def test_requests_from_one_ip_are_limited(client, redis_conn):
    for n in range(10):
        assert ask_for_link(client, f"person{n}@example.com").status_code == 302

    assert ask_for_link(client, "one-more@example.com").status_code == 429
    assert Queue(MAIL_QUEUE, connection=redis_conn).count == 10


def test_the_mail_is_in_the_users_language(client, mail, session):
    make_user(session, email="minji@example.com", name="김민지", language="ko")
    ask_for_link(client, "minji@example.com")
    session.commit()

    [message] = mail()

    assert message["Subject"] == "헬프데스크 비밀번호 재설정"
    assert "김민지" in message.get_body(("plain",)).get_content()


def test_an_admin_reset_stops_the_old_password_ends_sessions_and_mails_a_link(
    app, admin_client, agent, mail, session
):
    agents_browser = app.test_client()
    login(agents_browser, agent.email)

    response = post_form(admin_client, f"/admin/users/{agent.id}/reset-password")

    assert response.status_code == 302
    assert agents_browser.get("/preferences").status_code == 302
    assert not can_log_in(app, agent.email, DEFAULT_PASSWORD)
    session.commit()
    [message] = mail()
    assert set_password(app.test_client(), link_in(message)).status_code == 302
    assert can_log_in(app, agent.email, NEW_PASSWORD)


def test_an_admin_cannot_force_a_reset_of_their_own_password(admin_client, admin, session):
    before = session.scalar(select(User.password_hash).where(User.id == admin.id))
    session.commit()

    response = post_form(admin_client, f"/admin/users/{admin.id}/reset-password")

    assert response.status_code == 303
    assert admin_client.get("/preferences").status_code == 200
    assert session.scalar(select(User.password_hash).where(User.id == admin.id)) == before


def test_forcing_a_reset_of_an_unknown_user_is_404(admin_client):
    assert post_form(admin_client, "/admin/users/999999/reset-password").status_code == 404
