"""Status, priority, tags and internal notes with @mentions, and the Mentions view."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.tickets import service
from helpdesk.tickets.models import Mention, Message, MessageKind, Priority, Ticket, TicketStatus
from tests.factories import make_ticket, make_user
from tests.helpers import csrf_token, login, post_form


def get(session, ticket_id) -> Ticket:
    ticket = session.scalars(
        select(Ticket).where(Ticket.id == ticket_id).execution_options(populate_existing=True)
    ).one()
    session.commit()
    return ticket


def mentioned(session, note_id) -> list[int]:
    ids = session.scalars(
        select(Mention.user_id).where(Mention.message_id == note_id).order_by(Mention.user_id)
    ).all()
    session.commit()
    return ids


def test_resolving_records_when_and_reopening_clears_it(session, agent):
    ticket = make_ticket(session)
    service.set_status(session, ticket.id, "resolved", actor_id=agent.id)
    session.commit()
    resolved = get(session, ticket.id)
    assert resolved.status == TicketStatus.resolved
    assert resolved.resolved_at is not None
    service.set_status(session, ticket.id, "open", actor_id=agent.id)
    session.commit()
    reopened = get(session, ticket.id)
    assert (reopened.resolved_at, reopened.closed_at) == (None, None)


def test_closing_records_when(session, agent):
    ticket = make_ticket(session)
    service.set_status(session, ticket.id, "closed", actor_id=agent.id)
    session.commit()
    closed = get(session, ticket.id)
    assert closed.closed_at is not None
    assert closed.response_due_at is None


def test_status_change_is_an_event_and_bumps_the_version(session, agent):
    ticket = make_ticket(session)
    service.set_status(session, ticket.id, "waiting", actor_id=agent.id)
    session.commit()
    events = session.scalars(
        select(Message.body_text).where(
            Message.ticket_id == ticket.id, Message.kind == MessageKind.event
        )
    ).all()
    session.commit()
    assert events == ["Status new → waiting by Alex Agent."]
    assert get(session, ticket.id).version == 2


def test_priority_and_tags_are_saved(session, agent):
    ticket = make_ticket(session)
    service.set_priority(session, ticket.id, "urgent", actor_id=agent.id)
    service.set_tags(session, ticket.id, "Refund, VIP,refund", actor_id=agent.id)
    session.commit()
    saved = get(session, ticket.id)
    assert saved.priority == Priority.urgent
    assert [t.name for t in saved.tags] == ["refund", "vip"]


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        ("status", {"status": "done"}, "is not a ticket status"),
        ("priority", {"priority": "extreme"}, "is not a priority"),
        ("tags", {"tags": ",".join(f"t{n}" for n in range(21))}, "At most 20 tags"),
        ("notes", {"note": "   "}, "Write the note first."),
    ],
)
def test_bad_action_input_is_a_400_and_changes_nothing(agent_client, session, url, data, message):
    ticket = make_ticket(session)
    response = post_form(agent_client, f"/tickets/{ticket.id}/{url}", data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    unchanged = get(session, ticket.id)
    assert (unchanged.status, unchanged.priority, unchanged.version) == (
        TicketStatus.new,
        Priority.normal,
        1,
    )


def test_status_form_changes_the_status(agent_client, session):
    ticket = make_ticket(session)
    response = post_form(agent_client, f"/tickets/{ticket.id}/status", {"status": "resolved"})
    assert response.status_code == 302
    assert get(session, ticket.id).status == TicketStatus.resolved


def test_changing_a_merged_ticket_is_refused(agent_client, session, agent):
    survivor, merged = make_ticket(session), make_ticket(session)
    service.merge_tickets(session, merged.id, survivor.id, agent.id)
    session.commit()
    response = post_form(agent_client, f"/tickets/{merged.id}/priority", {"priority": "high"})
    assert response.status_code == 409
    assert get(session, merged.id).priority == Priority.normal


def test_note_mentions_agents_by_name_and_email_local_part(session, agent, admin):
    sam = make_user(session, email="sam.lee@example.com", name="Sam Lee")
    ticket = make_ticket(session)
    note = service.add_note(
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
    note = service.add_note(session, ticket.id, author_id=admin.id, body="@Alex can you?")
    session.commit()
    assert mentioned(session, note.id) == []
    note = service.add_note(session, ticket.id, author_id=agent.id, body="@ada over to you")
    session.commit()
    assert mentioned(session, note.id) == [admin.id]


def test_note_is_internal_and_never_queued_for_mail(session, agent):
    ticket = make_ticket(session)
    note = service.add_note(session, ticket.id, author_id=agent.id, body="Customer is a VIP")
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
    note = service.add_note(session, ticket.id, author_id=admin.id, body="@Alex Agent look")
    session.commit()
    login(client, agent.email)
    client.get(f"/tickets/{ticket.id}")
    read_at = session.scalar(select(Mention.read_at).where(Mention.message_id == note.id))
    session.commit()
    assert read_at is not None


def test_empty_mentions_view_explains_itself(agent_client):
    html = agent_client.get("/tickets/mentions").get_data(as_text=True)
    assert "No mentions yet" in html
