"""Status, priority and tags of a ticket, and refused changes to them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.tickets import merging, service
from helpdesk.tickets.models import Message, MessageKind, Priority, Ticket, TicketStatus
from tests.factories import make_ticket
from tests.helpers import post_form


def get(session, ticket_id) -> Ticket:
    ticket = session.scalars(
        select(Ticket).where(Ticket.id == ticket_id).execution_options(populate_existing=True)
    ).one()
    session.commit()
    return ticket


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
    merging.merge_tickets(session, merged.id, survivor.id, agent.id)
    session.commit()
    response = post_form(agent_client, f"/tickets/{merged.id}/priority", {"priority": "high"})
    assert response.status_code == 409
    assert get(session, merged.id).priority == Priority.normal
