"""Saved reply pages and the composer's endpoints through the test client: role checks,
CSRF, bad input refused with a form error and nothing changed."""

from __future__ import annotations

from sqlalchemy import func, select

from helpdesk.saved_replies.models import SavedReply
from tests.factories import make_mailbox, make_saved_reply, make_user
from tests.helpers import csrf_token, login, post_form
from tests.tickets.mails import ingest, mail


def _replies(session) -> list[tuple[str, str, int | None]]:
    rows = session.execute(
        select(SavedReply.title, SavedReply.body, SavedReply.owner_id).order_by(SavedReply.id)
    ).all()
    session.commit()
    return [tuple(row) for row in rows]


def _ticket(session) -> int:
    ticket_id = ingest(session, mail(), mailbox=make_mailbox(session)).ticket_id
    session.commit()
    return ticket_id


def test_agent_creates_a_personal_reply_in_a_folder(agent_client, session, agent):
    response = post_form(
        agent_client,
        "/saved-replies/new",
        {"title": "Refund", "folder": "Billing", "body": "Hi {{ customer_first_name }}"},
    )

    assert response.status_code == 302
    assert _replies(session) == [("Refund", "Hi {{ customer_first_name }}", agent.id)]
    page = agent_client.get("/saved-replies").get_data(as_text=True)
    assert "Billing" in page and "Refund" in page


def test_admin_creates_a_shared_reply(admin_client, session):
    response = post_form(
        admin_client, "/saved-replies/new", {"title": "Hello", "body": "Hello!", "shared": "y"}
    )

    assert response.status_code == 302
    assert _replies(session) == [("Hello", "Hello!", None)]


def test_template_syntax_error_is_shown_on_the_form_and_nothing_is_saved(agent_client, session):
    response = post_form(
        agent_client, "/saved-replies/new", {"title": "Broken", "body": "Hi {{ customer_name"}
    )

    assert response.status_code == 400
    assert "Template error on line 1" in response.get_data(as_text=True)
    assert _replies(session) == []


def test_missing_title_is_refused_and_nothing_is_saved(agent_client, session):
    response = post_form(agent_client, "/saved-replies/new", {"title": " ", "body": "Hello"})

    assert response.status_code == 400
    assert "Give the reply a title." in response.get_data(as_text=True)
    assert _replies(session) == []


def test_agent_asking_to_share_gets_a_form_error(agent_client, session):
    response = post_form(
        agent_client, "/saved-replies/new", {"title": "Hi", "body": "Hi", "shared": "y"}
    )

    assert response.status_code == 400
    assert "Only admins share saved replies." in response.get_data(as_text=True)
    assert _replies(session) == []


def test_form_without_csrf_token_changes_nothing(agent_client, session):
    response = agent_client.post("/saved-replies/new", data={"title": "Hi", "body": "Hi"})

    assert response.status_code == 400
    assert _replies(session) == []


def test_bad_edit_changes_nothing(agent_client, session, agent):
    reply = make_saved_reply(session, owner=agent, title="Thanks", body="Thank you!")

    response = post_form(
        agent_client, f"/saved-replies/{reply.id}/edit", {"title": "Thanks", "body": "{% for %}"}
    )

    assert response.status_code == 400
    assert _replies(session) == [("Thanks", "Thank you!", agent.id)]


def test_agent_cannot_edit_or_delete_a_shared_reply(agent_client, session):
    shared = make_saved_reply(session)

    edit = post_form(agent_client, f"/saved-replies/{shared.id}/edit", {"title": "X", "body": "X"})
    delete = post_form(agent_client, f"/saved-replies/{shared.id}/delete")

    assert (edit.status_code, delete.status_code) == (403, 403)
    assert _replies(session) == [("Thanks", "Thank you!", None)]


def test_another_agents_personal_reply_is_not_found(client, session, agent):
    reply = make_saved_reply(session, owner=agent)
    other = make_user(session, email="other@example.com", name="Other Agent")
    login(client, other.email)

    assert client.get(f"/saved-replies/{reply.id}/edit").status_code == 404
    assert "Thanks" not in client.get("/saved-replies/picker").get_data(as_text=True)


def test_owner_deletes_a_personal_reply(agent_client, session, agent):
    reply = make_saved_reply(session, owner=agent)

    response = post_form(agent_client, f"/saved-replies/{reply.id}/delete")

    assert response.status_code == 302
    assert _replies(session) == []


def test_marketer_has_no_saved_replies(marketer_client, session):
    reply = make_saved_reply(session)

    assert marketer_client.get("/saved-replies").status_code == 403
    assert marketer_client.get("/saved-replies/picker").status_code == 403
    response = post_form(marketer_client, f"/saved-replies/{reply.id}/insert", {"ticket_id": "1"})
    assert response.status_code == 403


def test_picker_lists_matching_replies_with_their_insert_address(agent_client, session):
    reply = make_saved_reply(session, title="Refund rules", folder="Billing")
    make_saved_reply(session, title="Hello")

    data = agent_client.get("/saved-replies/picker?q=refund").get_json()

    assert [(r["id"], r["title"], r["folder"]) for r in data["replies"]] == [
        (reply.id, "Refund rules", "Billing")
    ]
    assert data["replies"][0]["insert_url"] == f"/saved-replies/{reply.id}/insert"


def test_insert_returns_the_text_rendered_for_the_ticket_and_counts_it(agent_client, session):
    ticket_id = _ticket(session)
    reply = make_saved_reply(session, body="Dear {{ customer_name }}, #{{ ticket_number }}")

    response = agent_client.post(
        f"/saved-replies/{reply.id}/insert",
        json={"ticket_id": ticket_id},
        headers={"X-CSRFToken": csrf_token(agent_client)},
    )

    assert response.status_code == 200
    assert response.get_json() == {
        "text": f"Dear Kim Minji, #{ticket_id}",
        "used_in_replies": 1,
    }


def test_insert_without_a_ticket_number_is_refused_and_not_counted(agent_client, session):
    reply = make_saved_reply(session)
    token = {"X-CSRFToken": csrf_token(agent_client)}

    missing = agent_client.post(f"/saved-replies/{reply.id}/insert", json={}, headers=token)
    words = agent_client.post(
        f"/saved-replies/{reply.id}/insert", json={"ticket_id": "abc"}, headers=token
    )
    unknown = agent_client.post(
        f"/saved-replies/{reply.id}/insert", json={"ticket_id": 999999}, headers=token
    )

    assert (missing.status_code, words.status_code, unknown.status_code) == (400, 400, 404)
    assert "error" in missing.get_json()
    assert session.scalar(select(func.sum(SavedReply.used_in_replies))) == 0


def test_insert_without_csrf_token_is_refused(agent_client, session):
    ticket_id = _ticket(session)
    reply = make_saved_reply(session)

    response = agent_client.post(f"/saved-replies/{reply.id}/insert", json={"ticket_id": ticket_id})

    assert response.status_code == 400
    assert session.get(SavedReply, reply.id).used_in_replies == 0


def test_delete_without_csrf_token_keeps_the_reply(agent_client, session, agent):
    reply = make_saved_reply(session, owner=agent)

    response = agent_client.post(f"/saved-replies/{reply.id}/delete")

    assert response.status_code == 400
    assert _replies(session) == [("Thanks", "Thank you!", agent.id)]
