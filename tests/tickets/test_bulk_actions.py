"""Bulk assign, close and tag from the queue list: all or nothing, with a clear message."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.tickets.models import Message, MessageKind, Ticket, TicketStatus
from tests.factories import make_ticket, make_user
from tests.helpers import post_form


def snapshot(session):
    session.expire_all()
    rows = [
        (t.id, t.status, t.assignee_id, [tag.name for tag in t.tags], t.version)
        for t in session.scalars(select(Ticket).order_by(Ticket.id))
    ]
    # On SQLite every transaction takes the write lock; end ours before the app writes.
    session.rollback()
    return rows


def test_bulk_assign_assigns_every_selected_ticket(agent_client, session, agent):
    other = make_user(session, email="other@example.com", name="Olga Other")
    a, b, untouched = make_ticket(session), make_ticket(session), make_ticket(session)
    response = post_form(
        agent_client,
        "/tickets/bulk?view=unassigned",
        {"action": "assign", "assignee_id": str(other.id), "ticket_ids": [str(a.id), str(b.id)]},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/tickets?view=unassigned")
    page = agent_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 tickets assigned to Olga Other." in page
    session.expire_all()
    assert session.get(Ticket, a.id).assignee_id == other.id
    assert session.get(Ticket, b.id).assignee_id == other.id
    assert session.get(Ticket, untouched.id).assignee_id is None


def test_bulk_assign_records_an_event_and_bumps_the_version(agent_client, session, agent):
    ticket = make_ticket(session)
    post_form(
        agent_client,
        "/tickets/bulk",
        {"action": "assign", "assignee_id": str(agent.id), "ticket_ids": [str(ticket.id)]},
    )
    session.expire_all()
    assert session.get(Ticket, ticket.id).version == 2
    events = session.scalars(
        select(Message.body_text).where(
            Message.ticket_id == ticket.id, Message.kind == MessageKind.event
        )
    ).all()
    assert events == ["Assigned to Alex Agent (bulk action)."]


def test_bulk_close_closes_and_clears_due_time(agent_client, session):
    from datetime import UTC, datetime

    ticket = make_ticket(session, response_due_at=datetime(2024, 1, 1, tzinfo=UTC))
    response = post_form(
        agent_client, "/tickets/bulk", {"action": "close", "ticket_ids": [str(ticket.id)]}
    )
    assert response.status_code == 302
    session.expire_all()
    closed = session.get(Ticket, ticket.id)
    assert closed.status == TicketStatus.closed
    assert closed.closed_at is not None and closed.response_due_at is None


def test_bulk_tag_adds_the_tag_and_reports_tickets_already_tagged(agent_client, session):
    a, b = make_ticket(session), make_ticket(session)
    post_form(
        agent_client, "/tickets/bulk", {"action": "tag", "tag": "VIP", "ticket_ids": [str(a.id)]}
    )
    response = post_form(
        agent_client,
        "/tickets/bulk",
        {"action": "tag", "tag": "vip", "ticket_ids": [str(a.id), str(b.id)]},
        follow_redirects=True,
    )
    session.expire_all()
    assert [t.name for t in session.get(Ticket, b.id).tags] == ["vip"]
    assert [t.name for t in session.get(Ticket, a.id).tags] == ["vip"]
    page = response.get_data(as_text=True)
    assert "added to 1 ticket." in page and "1 already was, and was left as it is." in page


def test_bulk_without_selected_tickets_is_refused(agent_client, session):
    make_ticket(session)
    before = snapshot(session)
    response = post_form(agent_client, "/tickets/bulk", {"action": "close"})
    assert response.status_code == 400
    assert "Select at least one ticket." in response.get_data(as_text=True)
    assert snapshot(session) == before


def test_bulk_assign_to_unknown_agent_changes_nothing(agent_client, session, marketer):
    ticket_id, marketer_id = make_ticket(session).id, marketer.id
    before = snapshot(session)
    for assignee in ("999999", "abc", str(marketer_id), ""):
        response = post_form(
            agent_client,
            "/tickets/bulk",
            {"action": "assign", "assignee_id": assignee, "ticket_ids": [str(ticket_id)]},
        )
        assert response.status_code == 400, assignee
        page = response.get_data(as_text=True)
        assert "cannot take tickets" in page or "Choose an agent" in page
    assert snapshot(session) == before


def test_bulk_with_tampered_ids_changes_nothing(agent_client, session):
    ticket_id = make_ticket(session).id
    before = snapshot(session)
    for bad in (["999999"], [str(ticket_id), "1 OR 1=1"], [str(ticket_id), "-1"]):
        response = post_form(
            agent_client, "/tickets/bulk", {"action": "close", "ticket_ids": [*bad]}
        )
        assert response.status_code == 400, bad
        assert "Nothing was changed." in response.get_data(as_text=True)
    assert snapshot(session) == before


def test_bulk_with_unknown_action_or_empty_tag_changes_nothing(agent_client, session):
    ticket_id = make_ticket(session).id
    before = snapshot(session)
    for data in ({"action": "delete"}, {"action": "tag", "tag": "  "}):
        response = post_form(agent_client, "/tickets/bulk", data | {"ticket_ids": [str(ticket_id)]})
        assert response.status_code == 400
    assert snapshot(session) == before


def test_bulk_without_csrf_token_is_refused(agent_client, session):
    ticket = make_ticket(session)
    response = agent_client.post(
        "/tickets/bulk", data={"action": "close", "ticket_ids": [str(ticket.id)]}
    )
    assert response.status_code == 400
    session.expire_all()
    assert session.get(Ticket, ticket.id).status == TicketStatus.new


def test_marketer_cannot_use_bulk_actions(marketer_client, session):
    ticket = make_ticket(session)
    response = post_form(
        marketer_client, "/tickets/bulk", {"action": "close", "ticket_ids": [str(ticket.id)]}
    )
    assert response.status_code == 403
    session.expire_all()
    assert session.get(Ticket, ticket.id).status == TicketStatus.new
