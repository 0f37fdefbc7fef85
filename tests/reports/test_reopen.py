"""Reopen rate: the reopen events that ingest and the ticket actions really write."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.db import utcnow
from helpdesk.reports import tickets_over_time
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import Message, MessageKind, TicketStatus
from tests.factories import make_user
from tests.reports.support import SEOUL, scope, ticket
from tests.tickets.mails import ingest, mail


def test_reopen_rate_counts_customer_and_agent_reopens(session):
    agent = make_user(session, email="ana@example.com", name="Ana")
    now = utcnow()
    created = now - timedelta(hours=1)
    # The customer writes again to a resolved ticket: ingest reopens it.
    by_customer = ticket(session, created, n=1, status="resolved", resolved_at=created)
    ingest(
        session,
        mail(
            subject=f"Re: [#{by_customer.id}]",
            sender="customer1@example.com",
            message_id="<again@example.com>",
        ),
    )
    # An agent reopens a closed ticket and resolves it again.
    by_agent = ticket(session, created, n=2, status="closed", resolved_at=created)
    tickets.set_status(session, by_agent.id, "open", actor_id=agent.id)
    tickets.set_status(session, by_agent.id, "resolved", actor_id=agent.id)
    # Resolved once, never reopened; resolved then closed (no reopen).
    ticket(session, created, n=3, status="resolved", resolved_at=created)
    closed_later = ticket(session, created, n=4, status="resolved", resolved_at=created)
    tickets.set_status(session, closed_later.id, "closed", actor_id=agent.id)
    # Never solved; and a customer answering while we wait is no reopen either.
    ticket(session, created, n=5, status="open")
    waiting = ticket(session, created, n=6, status="waiting")
    ingest(
        session,
        mail(
            subject=f"Re: [#{waiting.id}]",
            sender="customer6@example.com",
            message_id="<answer@example.com>",
        ),
    )
    session.commit()
    session.expire_all()
    assert session.get(type(by_customer), by_customer.id).status == TicketStatus.open
    events = session.scalars(
        select(Message.body_text).where(Message.kind == MessageKind.event)
    ).all()
    assert any(text.startswith("Reopened by a customer reply") for text in events)

    today = now.astimezone(SEOUL).date()
    figures = tickets_over_time.reopen_figures(session, scope(today - timedelta(days=1), today))
    # Solved at some point: tickets 1, 2, 3, 4; reopened: 1 and 2.
    assert (figures.solved, figures.reopened) == (4, 2)
    assert figures.rate == pytest.approx(0.5)
