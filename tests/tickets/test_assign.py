"""Assignment is atomic: whoever takes a ticket first has it, the other is told who."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from helpdesk.db import database
from helpdesk.tickets import service
from helpdesk.tickets.models import Message, MessageKind, Ticket
from tests.factories import make_ticket, make_user
from tests.helpers import login, post_form


def reload(session, ticket_id) -> Ticket:
    session.expire_all()
    ticket = session.get(Ticket, ticket_id)
    session.commit()
    return ticket


def test_agent_takes_an_unassigned_ticket(session, agent):
    ticket = make_ticket(session)
    service.assign_ticket(
        session, ticket.id, agent.id, actor_id=agent.id, expected_assignee_id=None
    )
    session.commit()
    taken = reload(session, ticket.id)
    assert taken.assignee_id == agent.id
    assert taken.version == 2


def test_assignment_is_recorded_in_the_conversation(session, agent, admin):
    ticket = make_ticket(session)
    service.assign_ticket(
        session, ticket.id, agent.id, actor_id=admin.id, expected_assignee_id=None
    )
    session.commit()
    events = session.scalars(
        select(Message.body_text).where(
            Message.ticket_id == ticket.id, Message.kind == MessageKind.event
        )
    ).all()
    assert events == ["Assigned to Alex Agent by Ada Admin."]


def test_taking_a_ticket_someone_holds_names_the_holder(session, agent, admin):
    ticket = make_ticket(session, assignee_id=admin.id)
    with pytest.raises(service.AlreadyAssigned) as refused:
        service.assign_ticket(
            session, ticket.id, agent.id, actor_id=agent.id, expected_assignee_id=None
        )
    assert str(refused.value) == "This ticket was already taken by Ada Admin."
    session.rollback()
    assert reload(session, ticket.id).assignee_id == admin.id


def test_reassigning_works_when_the_holder_is_as_seen(session, agent, admin):
    ticket = make_ticket(session, assignee_id=admin.id)
    service.assign_ticket(
        session, ticket.id, agent.id, actor_id=admin.id, expected_assignee_id=admin.id
    )
    session.commit()
    assert reload(session, ticket.id).assignee_id == agent.id


def test_reassigning_is_refused_when_the_holder_changed_meanwhile(session, agent, admin):
    third = make_user(session, email="sam@example.com", name="Sam Support")
    ticket = make_ticket(session, assignee_id=third.id)
    with pytest.raises(service.AlreadyAssigned, match="Sam Support"):
        service.assign_ticket(
            session, ticket.id, agent.id, actor_id=admin.id, expected_assignee_id=admin.id
        )


def test_unassigning_leaves_the_ticket_for_anyone(session, agent):
    ticket = make_ticket(session, assignee_id=agent.id)
    service.assign_ticket(
        session, ticket.id, None, actor_id=agent.id, expected_assignee_id=agent.id
    )
    session.commit()
    assert reload(session, ticket.id).assignee_id is None


def test_taking_a_ticket_twice_is_harmless(session, agent):
    ticket = make_ticket(session, assignee_id=agent.id)
    service.assign_ticket(
        session, ticket.id, agent.id, actor_id=agent.id, expected_assignee_id=None
    )
    session.commit()
    assert reload(session, ticket.id).assignee_id == agent.id


@pytest.mark.parametrize("who", [424242, "marketer", "inactive"])
def test_assigning_to_someone_who_is_not_an_active_agent_is_refused(session, agent, marketer, who):
    if who == "marketer":
        who = marketer.id
    elif who == "inactive":
        gone = make_user(session, email="gone@example.com")
        gone.is_active = False
        session.commit()
        who = gone.id
    ticket = make_ticket(session)
    with pytest.raises(service.UnknownAgent):
        service.assign_ticket(session, ticket.id, who, actor_id=agent.id, expected_assignee_id=None)
    session.rollback()
    assert reload(session, ticket.id).assignee_id is None


def test_two_agents_taking_the_same_ticket_at_once_one_wins(session, agent, admin):
    rounds = 5
    tickets = [make_ticket(session, subject=f"race {n}").id for n in range(rounds)]
    # Plain values: touching an expired ORM attribute would open a transaction here,
    # and on SQLite that holds the very lock the two threads race for.
    names = {agent.id: agent.name, admin.id: admin.name}
    for ticket_id in tickets:
        barrier = threading.Barrier(2)
        outcomes: dict[int, object] = {}

        def take(agent_id: int, ticket_id=ticket_id, barrier=barrier, outcomes=outcomes):
            own = database.session()
            try:
                barrier.wait(timeout=10)
                service.assign_ticket(
                    own, ticket_id, agent_id, actor_id=agent_id, expected_assignee_id=None
                )
                own.commit()
                outcomes[agent_id] = "won"
            except service.AlreadyAssigned as exc:
                own.rollback()
                outcomes[agent_id] = exc
            finally:
                own.close()

        threads = [threading.Thread(target=take, args=(uid,)) for uid in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        winners = [uid for uid, outcome in outcomes.items() if outcome == "won"]
        losers = [outcome for outcome in outcomes.values() if outcome != "won"]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        assert str(losers[0]) == f"This ticket was already taken by {names[winners[0]]}."
        assert reload(session, ticket_id).assignee_id == winners[0]
        events = session.scalar(
            select(func.count()).where(
                Message.ticket_id == ticket_id, Message.kind == MessageKind.event
            )
        )
        session.commit()
        assert events == 1


def test_assign_to_me_button_takes_the_ticket(agent_client, session, agent):
    ticket = make_ticket(session)
    response = post_form(
        agent_client, f"/tickets/{ticket.id}/assign", {"agent_id": "me", "expected_assignee_id": ""}
    )
    assert response.status_code == 302
    assert reload(session, ticket.id).assignee_id == agent.id


def test_second_agent_is_told_who_took_it(client, session, agent, admin):
    ticket = make_ticket(session, assignee_id=admin.id)
    login(client, agent.email)
    response = post_form(
        client, f"/tickets/{ticket.id}/assign", {"agent_id": "me", "expected_assignee_id": ""}
    )
    assert response.status_code == 409
    assert "This ticket was already taken by Ada Admin." in response.get_data(as_text=True)
    assert reload(session, ticket.id).assignee_id == admin.id


@pytest.mark.parametrize(
    "form",
    [
        {"agent_id": "abc", "expected_assignee_id": ""},
        {"agent_id": "999999", "expected_assignee_id": ""},
        {"agent_id": "me", "expected_assignee_id": "x1"},
    ],
)
def test_tampered_assignment_form_is_refused_and_changes_nothing(agent_client, session, form):
    ticket = make_ticket(session)
    response = post_form(agent_client, f"/tickets/{ticket.id}/assign", form)
    assert response.status_code == 400
    assert 'id="action-error"' in response.get_data(as_text=True)
    assert reload(session, ticket.id).assignee_id is None
    assert reload(session, ticket.id).version == 1


def test_assigning_an_unknown_ticket_is_404(agent_client):
    response = post_form(agent_client, "/tickets/999999/assign", {"agent_id": "me"})
    assert response.status_code == 404
