"""The New ticket page: who may use it, what it sends, and bad input shown on the form
with nothing changed."""

from __future__ import annotations

import pytest
from rq import Queue
from sqlalchemy import func, select

from helpdesk.customers.models import Customer
from helpdesk.queue import MAIL_QUEUE
from helpdesk.tickets.models import Message, Ticket, TicketChannel
from tests.factories import make_customer, make_mailbox
from tests.helpers import post_form


@pytest.fixture
def mailbox(session):
    return make_mailbox(session, name="Shop help", address="help@shop.test")


def form_data(mailbox, **overrides):
    return {
        "channel": "email",
        "to": "minji@example.com",
        "name": "Kim Minji",
        "mailbox_id": str(mailbox.id),
        "subject": "Your order 1001",
        "body": "Which address should we use?",
    } | overrides


def counts(session):
    found = tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (Ticket, Message, Customer)
    )
    session.commit()
    return found


def test_agents_get_the_form_with_the_active_mailboxes(agent_client, mailbox, session):
    make_mailbox(session, name="Old", address="old@shop.test", is_active=False)
    response = agent_client.get("/tickets/new")
    assert response.status_code == 200
    assert b"Shop help &lt;help@shop.test&gt;" in response.data
    assert b"old@shop.test" not in response.data


def test_from_the_customer_page_the_form_is_addressed_to_the_customer(agent_client, session):
    customer = make_customer(session, email="minji@example.com", name="Kim Minji")
    response = agent_client.get(f"/tickets/new?customer_id={customer.id}")
    assert b'value="minji@example.com"' in response.data


def test_marketers_may_not_start_tickets(marketer_client, mailbox, session):
    assert marketer_client.get("/tickets/new").status_code == 403
    response = post_form(marketer_client, "/tickets/new", form_data(mailbox))
    assert response.status_code == 403
    assert counts(session) == (0, 0, 0)


def test_logged_out_visitors_are_sent_to_the_login_page(client):
    response = client.get("/tickets/new")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_post_without_the_csrf_token_changes_nothing(agent_client, mailbox, session):
    response = agent_client.post("/tickets/new", data=form_data(mailbox))
    assert response.status_code == 400
    assert counts(session) == (0, 0, 0)


def test_a_mail_ticket_is_created_and_its_send_job_queued(
    agent_client, mailbox, session, redis_conn
):
    response = post_form(agent_client, "/tickets/new", form_data(mailbox))
    assert response.status_code == 302
    ticket = session.scalars(select(Ticket)).one()
    sent = session.scalars(select(Message)).one()
    session.commit()
    assert response.headers["Location"].endswith(f"/tickets/{ticket.id}")
    jobs = Queue(MAIL_QUEUE, connection=redis_conn).jobs
    assert [(job.func_name, job.args) for job in jobs] == [
        ("helpdesk.tickets.jobs.send_ticket_message", (sent.id,))
    ]


def test_a_phone_call_is_logged_without_a_send_job(agent_client, mailbox, session, redis_conn):
    response = post_form(
        agent_client, "/tickets/new", form_data(mailbox, channel="phone", mailbox_id="")
    )
    assert response.status_code == 302
    ticket = session.scalars(select(Ticket)).one()
    session.commit()
    assert ticket.channel == TicketChannel.phone
    assert Queue(MAIL_QUEUE, connection=redis_conn).jobs == []
    page = agent_client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert '<dd data-channel="phone">Phone call</dd>' in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"subject": ""}, b"Give the ticket a subject."),
        ({"to": "minji at example"}, b"is not an email address."),
        ({"mailbox_id": "999"}, b"Choose a mailbox to send from."),
        ({"mailbox_id": "not a number"}, b"Choose a mailbox to send from."),
        ({"body": "   "}, b"Write the message first."),
        ({"channel": "carrier pigeon"}, b"Choose how the conversation takes place."),
    ],
)
def test_bad_input_is_shown_on_the_form_and_changes_nothing(
    agent_client, mailbox, session, redis_conn, overrides, message
):
    response = post_form(agent_client, "/tickets/new", form_data(mailbox, **overrides))
    assert response.status_code == 400
    assert message in response.data
    assert b"Your order 1001" in response.data or overrides.get("subject") == ""
    assert counts(session) == (0, 0, 0)
    assert Queue(MAIL_QUEUE, connection=redis_conn).jobs == []
