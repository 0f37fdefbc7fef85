"""Round-robin assignment of new tickets among available agents, fair under concurrency."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import select

from helpdesk.db import database
from helpdesk.mail.models import Mailbox
from helpdesk.tickets.assignment import auto_assign
from helpdesk.tickets.models import Ticket
from tests.factories import make_customer, make_mailbox, make_ticket, make_user


def agents(session, n, **overrides):
    return [
        make_user(session, email=f"agent{i}@example.com", name=f"Agent {i}", **overrides)
        for i in range(n)
    ]


def assign_new(session, mailbox):
    ticket = make_ticket(session, mailbox_id=mailbox.id)
    user = auto_assign(session, ticket)
    session.commit()
    return user.id if user else None


def test_new_tickets_go_to_available_agents_in_turn(session):
    mailbox = make_mailbox(session, auto_assign=True)
    team = [a.id for a in agents(session, 3)]
    assigned = [assign_new(session, mailbox) for _ in range(6)]
    assert assigned == team + team


def test_away_agents_are_skipped(session):
    mailbox = make_mailbox(session, auto_assign=True)
    first, away, third = agents(session, 3)
    away.is_available = False
    session.commit()
    assert [assign_new(session, mailbox) for _ in range(4)] == [first.id, third.id] * 2


def test_inactive_users_and_non_agents_are_skipped(session, admin, marketer):
    mailbox = make_mailbox(session, auto_assign=True)
    active, gone = agents(session, 2)
    gone.is_active = False
    session.commit()
    assert [assign_new(session, mailbox) for _ in range(2)] == [active.id, active.id]


def test_rotation_continues_after_the_last_assigned_agent(session):
    team = agents(session, 3)
    mailbox = make_mailbox(session, auto_assign=True, last_assigned_user_id=team[1].id)
    assert assign_new(session, mailbox) == team[2].id
    assert assign_new(session, mailbox) == team[0].id


def test_mailbox_without_auto_assign_leaves_tickets_unassigned(session):
    mailbox = make_mailbox(session)
    agents(session, 2)
    assert assign_new(session, mailbox) is None


def test_nobody_available_leaves_the_ticket_unassigned(session):
    mailbox = make_mailbox(session, auto_assign=True)
    for user in agents(session, 2):
        user.is_available = False
    session.commit()
    assert assign_new(session, mailbox) is None


def test_an_assigned_ticket_keeps_its_assignee(session, agent):
    mailbox = make_mailbox(session, auto_assign=True)
    agents(session, 2)
    ticket = make_ticket(session, mailbox_id=mailbox.id, assignee_id=agent.id)
    assert auto_assign(session, ticket) is None
    assert ticket.assignee_id == agent.id


def test_concurrent_ingests_share_tickets_evenly(session):
    mailbox_id = make_mailbox(session, auto_assign=True).id
    team = [a.id for a in agents(session, 3)]
    customer_id = make_customer(session).id
    session.rollback()
    workers, rounds = 6, 5
    barrier = threading.Barrier(workers)
    errors = []

    def ingest():
        try:
            barrier.wait(timeout=30)
            for _ in range(rounds):
                with database.session() as s:
                    ticket = Ticket(subject="Hi", customer_id=customer_id, mailbox_id=mailbox_id)
                    s.add(ticket)
                    s.flush()
                    auto_assign(s, ticket)
                    s.commit()
        except Exception as exc:  # reported below; a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=ingest) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    counts = Counter(session.scalars(select(Ticket.assignee_id)))
    assert counts == {agent_id: workers * rounds // len(team) for agent_id in team}
    assert session.get(Mailbox, mailbox_id).last_assigned_user_id in team
