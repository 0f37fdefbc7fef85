"""Agents start tickets: a first mail queued from a mailbox (its answer threads back), or a
phone call or visit logged without mail; bad input is refused with nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from helpdesk.customers.models import Customer
from helpdesk.customers.timeline import customer_timeline
from helpdesk.tickets import replies, starting
from helpdesk.tickets.models import (
    Message,
    MessageKind,
    SendStatus,
    Ticket,
    TicketChannel,
    TicketStatus,
)
from helpdesk.tickets.service import InvalidInput
from helpdesk.tickets.threading import ticket_id_from_message_id
from tests.factories import make_customer, make_mailbox
from tests.tickets.mails import SETTINGS, ingest, mail

MAIL = replies.MailSettings(SETTINGS.secret_key, SETTINGS.domain)


def start(session, agent, **overrides):
    values = {
        "channel": "email",
        "to": "minji@example.com",
        "name": "김민지",
        "subject": "Your order 1001",
        "body": "Your parcel was returned to us. Which address should we use?",
    } | overrides
    started = starting.start_ticket(session, agent.id, starting.NewTicket(**values), mail=MAIL)
    session.commit()
    return started


def counts(session):
    found = tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (Ticket, Message, Customer)
    )
    session.commit()
    return found


def test_a_mail_ticket_queues_a_first_message_from_the_mailbox(session, agent):
    mailbox = make_mailbox(session, name="Shop help", address="help@shop.test")
    customer = make_customer(session, email="minji@example.com")

    started = start(session, agent, mailbox_id=mailbox.id)

    ticket, sent = started.ticket, started.outgoing
    assert (ticket.customer_id, ticket.channel, ticket.status) == (
        customer.id,
        TicketChannel.email,
        TicketStatus.waiting,
    )
    assert ticket.assignee_id == agent.id and ticket.mailbox_id == mailbox.id
    assert (sent.kind, sent.send_status) == (MessageKind.reply, SendStatus.queued)
    assert (sent.from_email, sent.to) == ("help@shop.test", ["minji@example.com"])
    assert sent.subject == f"Your order 1001 [#{ticket.id}]"
    assert sent.author_id == agent.id
    assert ticket_id_from_message_id(sent.message_id, SETTINGS.secret_key) == ticket.id


def test_the_customers_answer_threads_into_the_started_ticket(session, agent):
    mailbox = make_mailbox(session)
    started = start(session, agent, mailbox_id=mailbox.id)
    answer = ingest(
        session,
        mail(
            "Please use my office address.",
            subject=f"Re: Your order 1001 [#{started.ticket.id}]",
            message_id="<answer@example.com>",
            headers={"In-Reply-To": f"<{started.outgoing.message_id}>"},
        ),
        mailbox=mailbox,
    )
    assert answer.ticket_id == started.ticket.id and not answer.created_ticket


def test_a_new_address_becomes_a_customer(session, agent):
    mailbox = make_mailbox(session)
    started = start(
        session, agent, to="new.person@example.com", name="New Person", mailbox_id=mailbox.id
    )
    customer = session.get(Customer, started.ticket.customer_id)
    assert (customer.email, customer.name) == ("new.person@example.com", "New Person")


@pytest.mark.parametrize("channel", ["phone", "visit"])
def test_a_call_or_visit_is_logged_without_mail(session, agent, channel):
    started = start(session, agent, channel=channel, body="Asked to change the address.")
    ticket = started.ticket
    assert started.outgoing is None
    assert (ticket.channel, ticket.status, ticket.mailbox_id) == (
        TicketChannel(channel),
        TicketStatus.open,
        None,
    )
    [note] = session.scalars(select(Message).where(Message.ticket_id == ticket.id)).all()
    session.commit()
    assert (note.kind, note.body_text, note.send_status) == (
        MessageKind.note,
        "Asked to change the address.",
        None,
    )


def test_the_started_ticket_is_on_the_customers_timeline(session, agent):
    started = start(session, agent, channel="phone")
    titles = [str(e.title) for e in customer_timeline(session, started.ticket.customer_id)]
    session.commit()
    assert f"Ticket #{started.ticket.id} opened: Your order 1001" in titles


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"subject": "  "}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"to": "not an address"}, "to"),
        ({"to": ""}, "to"),
        ({"body": ""}, "body"),
        ({"channel": "web_form"}, "channel"),
        ({"channel": "fax"}, "channel"),
        ({"mailbox_id": 999}, "mailbox_id"),
        ({"mailbox_id": None}, "mailbox_id"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(session, agent, overrides, field):
    mailbox = make_mailbox(session)
    before = counts(session)
    with pytest.raises(InvalidInput) as refused:
        start(session, agent, **({"mailbox_id": mailbox.id} | overrides))
    session.rollback()
    assert refused.value.field == field
    assert counts(session) == before


def test_an_inactive_mailbox_is_refused(session, agent):
    mailbox = make_mailbox(session, is_active=False)
    with pytest.raises(InvalidInput) as refused:
        start(session, agent, mailbox_id=mailbox.id)
    session.rollback()
    assert refused.value.field == "mailbox_id"


def test_a_marketer_cannot_start_a_ticket(session, marketer):
    with pytest.raises(InvalidInput):
        start(session, marketer, channel="phone")
    session.rollback()
    assert counts(session)[0] == 0
