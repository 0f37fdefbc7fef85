"""The demo dataset tells a story that holds together: resolved tickets were answered,
tickets waiting on the customer were answered last by us, and tickets, replies,
resolutions and sent newsletters spread over the last 60 days so the dashboard has
something to show on first start."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from helpdesk.campaigns.models import Campaign, CampaignStatus, Delivery
from helpdesk.db import utcnow
from helpdesk.demo import load_demo
from helpdesk.demo_content import HISTORY_DAYS
from helpdesk.inbound.incoming import IngestSettings
from helpdesk.reports.campaign_figures import latest_campaigns
from helpdesk.reports.periods import DateRange, Scope
from helpdesk.reports.tickets_over_time import ticket_volume
from helpdesk.tickets.models import DONE_STATUSES, Message, MessageKind, Ticket, TicketStatus

CONVERSATION = (MessageKind.customer, MessageKind.reply)


@pytest.fixture
def demo(app, session):
    now = utcnow()
    load_demo(session, IngestSettings(secret_key="demo-test", domain="helpdesk.test"), now)
    session.expire_all()
    return now


def _conversation(session, ticket: Ticket) -> list[Message]:
    return list(
        session.scalars(
            select(Message)
            .where(Message.ticket_id == ticket.id, Message.kind.in_(CONVERSATION))
            .order_by(Message.created_at, Message.id)
        )
    )


def test_every_resolved_or_closed_ticket_has_an_agent_reply(session, demo):
    done = session.scalars(select(Ticket).where(Ticket.status.in_(DONE_STATUSES))).all()
    assert done
    for ticket in done:
        kinds = [m.kind for m in _conversation(session, ticket)]
        assert MessageKind.reply in kinds, ticket.subject


def test_no_ticket_waits_on_the_customer_when_the_customer_wrote_last(session, demo):
    waiting = session.scalars(select(Ticket).where(Ticket.status == TicketStatus.waiting)).all()
    assert waiting
    for ticket in waiting:
        assert _conversation(session, ticket)[-1].kind == MessageKind.reply, ticket.subject
        assert not ticket.customer_replied_last


def test_answers_come_after_the_question_and_nothing_lies_in_the_future(session, demo):
    for ticket in session.scalars(select(Ticket)):
        conversation = _conversation(session, ticket)
        assert conversation[0].kind == MessageKind.customer
        assert conversation[0].created_at == ticket.created_at
        assert all(m.created_at <= demo for m in conversation)
        if ticket.first_response_at is not None:
            assert ticket.created_at < ticket.first_response_at <= demo


def test_tickets_and_resolutions_spread_over_the_last_sixty_days(session, demo):
    created = session.scalars(select(Ticket.created_at)).all()
    assert min(created) >= demo - timedelta(days=HISTORY_DAYS + 1)
    assert min(created) <= demo - timedelta(days=HISTORY_DAYS - 15)
    zone = ZoneInfo("UTC")
    last_month = Scope(DateRange((demo - timedelta(days=29)).date(), demo.date(), zone))
    volume = ticket_volume(session, last_month)
    assert len([day for day in volume if day.new]) >= 10
    assert len([day for day in volume if day.resolved]) >= 10


def test_no_demo_mail_waits_to_be_sent(session, demo):
    queued = select(Message).where(Message.send_status.is_not(None))
    assert {m.send_status.value for m in session.scalars(queued)} == {"sent"}


def test_newsletters_were_sent_over_the_period_with_opens_and_clicks(session, demo):
    sent = session.scalars(select(Campaign).where(Campaign.status == CampaignStatus.sent)).all()
    assert len(sent) >= 3
    assert all(demo - timedelta(days=HISTORY_DAYS) < c.finished_at < demo for c in sent)
    rows = latest_campaigns(session)
    assert len(rows) >= 3
    for campaign in sent:
        deliveries = session.scalars(select(Delivery).where(Delivery.campaign_id == campaign.id))
        deliveries = deliveries.all()
        assert sum(d.open_count > 0 for d in deliveries) > 0
        assert sum(d.click_count > 0 for d in deliveries) > 0
        assert all(d.first_opened_at > d.sent_at for d in deliveries if d.first_opened_at)
