"""Internal notes with @mentions, and the Mentions view."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.tickets import notes
from helpdesk.tickets.models import Mention, MessageKind
from tests.factories import make_ticket, make_user
from tests.helpers import csrf_token, login, post_form


def mentioned(session, note_id) -> list[int]:
    ids = session.scalars(
        select(Mention.user_id).where(Mention.message_id == note_id).order_by(Mention.user_id)
    ).all()
    session.commit()
    return ids


def test_note_mentions_agents_by_name_and_email_local_part(session, agent, admin):
    sam = make_user(session, email="sam.lee@example.com", name="Sam Lee")
    ticket = make_ticket(session)
    note = notes.add_note(
        session,
        ticket.id,
        author_id=agent.id,
        body="@Ada Admin please check, and @sam.lee too. Mail bob@agent.example is no mention.",
    )
    session.commit()
    assert mentioned(session, note.id) == sorted([admin.id, sam.id])


def test_note_mentions_by_unique_first_name_only(session, agent, admin):
    make_user(session, email="alex2@example.com", name="Alex Other")
    ticket = make_ticket(session)
    note = notes.add_note(session, ticket.id, author_id=admin.id, body="@Alex can you?")
    session.commit()
    assert mentioned(session, note.id) == []
    note = notes.add_note(session, ticket.id, author_id=agent.id, body="@ada over to you")
    session.commit()
    assert mentioned(session, note.id) == [admin.id]


def test_note_is_internal_and_never_queued_for_mail(session, agent):
    ticket = make_ticket(session)
    note = notes.add_note(session, ticket.id, author_id=agent.id, body="Customer is a VIP")
    session.commit()
    assert note.kind == MessageKind.note
    assert note.send_status is None
    assert note.message_id is None


def test_mentions_view_lists_and_marks_read(client, session, agent, admin):
    ticket = make_ticket(session, subject="Refund request")
    login(client, admin.email)
    post_form(client, f"/tickets/{ticket.id}/notes", {"note": "@Alex Agent can you take this?"})
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(client, agent.email)

    html = client.get("/tickets/mentions").get_data(as_text=True)
    assert "Refund request" in html
    assert "can you take this?" in html
    assert "Unread" in html
    assert post_form(client, "/tickets/mentions/read").status_code == 302
    html = client.get("/tickets/mentions").get_data(as_text=True)
    assert "Unread" not in html
    assert "Refund request" in html


def test_opening_the_ticket_marks_its_mentions_read(client, session, agent, admin):
    ticket = make_ticket(session)
    note = notes.add_note(session, ticket.id, author_id=admin.id, body="@Alex Agent look")
    session.commit()
    login(client, agent.email)
    client.get(f"/tickets/{ticket.id}")
    read_at = session.scalar(select(Mention.read_at).where(Mention.message_id == note.id))
    session.commit()
    assert read_at is not None


def test_empty_mentions_view_explains_itself(agent_client):
    html = agent_client.get("/tickets/mentions").get_data(as_text=True)
    assert "No mentions yet" in html
