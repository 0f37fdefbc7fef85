"""Which response target applies, and how apply_sla sets and clears the due time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpdesk.tickets.models import MessageKind, Priority, SLAPolicy, TicketStatus
from helpdesk.tickets.queues import QueueFilter, View, list_tickets
from helpdesk.tickets.sla import DEFAULT_TARGETS, Targets, apply_sla, save_policies, targets_for
from tests.factories import make_mailbox, make_message, make_ticket

MONDAY_10_UTC = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)


def add_policy(session, mailbox_id, priority, first, next_):
    session.add(
        SLAPolicy(
            mailbox_id=mailbox_id,
            priority=priority,
            first_response_minutes=first,
            next_response_minutes=next_,
        )
    )
    session.commit()


def test_built_in_default_is_four_hours_then_a_day(session):
    assert targets_for(session, None, Priority.normal) == DEFAULT_TARGETS
    assert Targets(240, 1440) == DEFAULT_TARGETS


def test_mailbox_policy_beats_the_default_policy(session):
    mailbox = make_mailbox(session)
    add_policy(session, None, Priority.high, 120, 600)
    add_policy(session, mailbox.id, Priority.high, 30, 90)
    assert targets_for(session, mailbox.id, Priority.high) == Targets(30, 90)
    assert targets_for(session, None, Priority.high) == Targets(120, 600)


def test_mailbox_without_its_own_policy_uses_the_default_policy(session):
    mailbox = make_mailbox(session)
    add_policy(session, None, Priority.urgent, 15, 60)
    assert targets_for(session, mailbox.id, Priority.urgent) == Targets(15, 60)
    assert targets_for(session, mailbox.id, Priority.low) == DEFAULT_TARGETS


def test_first_response_target_runs_from_the_first_customer_message(session):
    ticket = make_ticket(session, last_customer_message_at=MONDAY_10_UTC)
    make_message(session, ticket, created_at=MONDAY_10_UTC)
    assert apply_sla(session, ticket, MONDAY_10_UTC) == MONDAY_10_UTC + timedelta(hours=4)


def test_a_second_customer_message_does_not_push_the_due_time_back(session):
    ticket = make_ticket(session)
    make_message(session, ticket, created_at=MONDAY_10_UTC)
    make_message(session, ticket, created_at=MONDAY_10_UTC + timedelta(hours=2))
    ticket.last_customer_message_at = MONDAY_10_UTC + timedelta(hours=2)
    assert apply_sla(session, ticket, MONDAY_10_UTC) == MONDAY_10_UTC + timedelta(hours=4)


def test_agent_reply_clears_the_due_time(session):
    ticket = make_ticket(session, response_due_at=MONDAY_10_UTC)
    ticket.customer_replied_last = False
    ticket.first_response_at = ticket.last_agent_reply_at = MONDAY_10_UTC
    assert apply_sla(session, ticket, MONDAY_10_UTC) is None
    assert ticket.response_due_at is None


def test_next_response_target_runs_from_the_customer_answer_after_our_reply(session):
    replied = MONDAY_10_UTC
    answered = MONDAY_10_UTC + timedelta(hours=3)
    ticket = make_ticket(session, first_response_at=replied, last_agent_reply_at=replied)
    make_message(session, ticket, created_at=MONDAY_10_UTC - timedelta(hours=1))
    make_message(session, ticket, kind=MessageKind.reply, created_at=replied)
    make_message(session, ticket, created_at=answered)
    ticket.customer_replied_last = True
    assert apply_sla(session, ticket, answered) == answered + timedelta(hours=24)


def test_resolved_ticket_has_no_due_time(session):
    ticket = make_ticket(session, status=TicketStatus.resolved)
    assert apply_sla(session, ticket, MONDAY_10_UTC) is None


def test_business_hours_of_the_mailbox_apply(session):
    mailbox = make_mailbox(
        session,
        business_hours={
            "timezone": "UTC",
            "days": [0, 1, 2, 3, 4],
            "start": "09:00",
            "end": "17:00",
        },
    )
    friday_4pm = datetime(2024, 5, 10, 16, 0, tzinfo=UTC)
    ticket = make_ticket(session, mailbox_id=mailbox.id)
    make_message(session, ticket, created_at=friday_4pm)
    assert apply_sla(session, ticket, friday_4pm) == datetime(2024, 5, 13, 12, 0, tzinfo=UTC)


def test_overdue_view_lists_the_ticket_once_its_due_time_passed(session, agent):
    ticket = make_ticket(session)
    make_message(session, ticket, created_at=MONDAY_10_UTC)
    apply_sla(session, ticket, MONDAY_10_UTC)
    session.commit()

    def overdue_at(now):
        page = list_tickets(session, QueueFilter(view=View.overdue), user_id=agent.id, now=now)
        return [row.ticket.id for row in page.rows]

    assert overdue_at(MONDAY_10_UTC + timedelta(hours=3, minutes=59)) == []
    assert overdue_at(MONDAY_10_UTC + timedelta(hours=4, minutes=1)) == [ticket.id]


def test_saving_policies_retimes_waiting_tickets_of_that_mailbox(session):
    mailbox = make_mailbox(session)
    ticket = make_ticket(session, mailbox_id=mailbox.id)
    make_message(session, ticket, created_at=MONDAY_10_UTC)
    apply_sla(session, ticket, MONDAY_10_UTC)
    session.commit()
    targets = {p: Targets(60, 120) for p in Priority}
    assert save_policies(session, mailbox.id, targets, None, MONDAY_10_UTC) == 1
    session.commit()
    assert ticket.response_due_at == MONDAY_10_UTC + timedelta(hours=1)


def test_the_first_response_due_time_stays_after_the_answer(session):
    ticket = make_ticket(session)
    make_message(session, ticket, created_at=MONDAY_10_UTC)
    due = apply_sla(session, ticket, MONDAY_10_UTC)

    ticket.customer_replied_last = False
    ticket.first_response_at = ticket.last_agent_reply_at = MONDAY_10_UTC + timedelta(hours=1)
    apply_sla(session, ticket, ticket.first_response_at)

    assert (ticket.response_due_at, ticket.first_response_due_at) == (None, due)


def test_a_priority_change_before_the_answer_moves_the_first_response_due_time(session):
    add_policy(session, None, Priority.urgent, 30, 60)
    ticket = make_ticket(session)
    make_message(session, ticket, created_at=MONDAY_10_UTC)
    apply_sla(session, ticket, MONDAY_10_UTC)

    ticket.priority = Priority.urgent
    apply_sla(session, ticket, MONDAY_10_UTC)

    assert ticket.first_response_due_at == MONDAY_10_UTC + timedelta(minutes=30)
