"""The "Still need help?" form: a ticket through ingest, a queued confirmation, spam defences."""

import pytest
from rq import Queue
from sqlalchemy import func, select

from helpdesk.customers.models import Customer
from helpdesk.mail.models import RawMessage, RawSource
from helpdesk.tickets.models import Message, MessageKind, SendStatus, Ticket
from tests.factories import make_customer, make_mailbox
from tests.helpers import post_form

TOKEN = "form-token-0123456789abcdef"


def _send(client, **overrides):
    data = {
        "name": "김민지",
        "email": "minji@example.com",
        "subject": "환불 문의",
        "message": "지난주 주문을 환불받고 싶어요.",
        "website": "",
        "form_token": TOKEN,
    } | overrides
    return post_form(client, "/faq/contact", data)


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_contact_form_opens_a_ticket_and_queues_a_confirmation(client, session, redis_conn):
    make_mailbox(session, address="help@shop.test", name="Shop help")
    response = _send(client)
    assert response.status_code == 200, response.data[:500]

    ticket = session.scalars(select(Ticket)).one()
    assert f"#{ticket.id}".encode() in response.data
    customer = session.get(Customer, ticket.customer_id)
    assert (customer.email, customer.name) == ("minji@example.com", "김민지")
    raw = session.scalars(select(RawMessage)).one()
    assert raw.source == RawSource.form
    assert b"To: help@shop.test" in raw.content

    ack = session.scalars(select(Message).where(Message.kind == MessageKind.acknowledgement)).one()
    assert ack.send_status == SendStatus.queued
    assert ack.to == ["minji@example.com"] and ack.from_email == "help@shop.test"
    assert f"#{ticket.id}" in ack.body_text and f"[#{ticket.id}]" in ack.subject
    jobs = Queue("mail", connection=redis_conn).jobs
    assert [(job.func_name, job.args) for job in jobs] == [
        ("helpdesk.tickets.jobs.send_ticket_message", (ack.id,))
    ]


def test_contact_form_matches_an_existing_customer(client, session, redis_conn):
    customer = make_customer(session, email="minji@example.com", name="Kim Minji")
    _send(client)
    assert session.scalars(select(Ticket)).one().customer_id == customer.id
    assert _count(session, Customer) == 1


def test_resubmitted_form_is_recognized_as_a_duplicate(client, session, redis_conn):
    _send(client)
    response = _send(client)
    assert response.status_code == 200
    assert b"already have this message" in response.data
    assert _count(session, Ticket) == 1
    assert _count(session, Message) == 2  # the customer's message and one confirmation


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": ""}, b"Enter your email address"),
        ({"email": "not-an-address"}, b"does not look like an email address"),
        ({"email": "someone@"}, b"does not look like an email address"),
        ({"subject": ""}, b"what it is about"),
        ({"message": "   "}, b"Write your question"),
        ({"message": "x" * 5001}, b"5000"),
        ({"subject": "x" * 201}, b"200"),
    ],
)
def test_bad_contact_input_is_refused_and_creates_nothing(
    client, session, redis_conn, overrides, message
):
    response = _send(client, **overrides)
    assert response.status_code == 400
    assert message in response.data
    assert _count(session, RawMessage) == 0
    assert _count(session, Ticket) == 0


def test_filled_honeypot_is_discarded_quietly(client, session, redis_conn):
    response = _send(client, website="http://spam.example")
    assert response.status_code == 200
    assert _count(session, RawMessage) == 0


def test_contact_form_without_csrf_token_is_refused(client, session, redis_conn):
    response = client.post("/faq/contact", data={"email": "a@example.com", "subject": "x"})
    assert response.status_code == 400
    assert _count(session, RawMessage) == 0


def test_contact_form_is_rate_limited_per_address(client, session, redis_conn):
    for number in range(3):
        assert _send(client, message=f"question {number}").status_code == 200
    response = _send(client, message="question 4")
    assert response.status_code == 429
    assert _count(session, Ticket) == 3


def test_contact_form_is_rate_limited_per_ip(client, session, redis_conn):
    for number in range(5):
        response = _send(client, email=f"person{number}@example.com")
        assert response.status_code == 200
    response = _send(client, email="person6@example.com")
    assert response.status_code == 429
    assert b"wait an hour" in response.data
    assert _count(session, Ticket) == 5


def test_our_own_address_is_refused_as_sender(client, session, redis_conn):
    make_mailbox(session, address="help@shop.test")
    response = _send(client, email="help@shop.test")
    assert response.status_code == 400
    assert _count(session, RawMessage) == 0


@pytest.mark.parametrize(
    "name",
    [
        "x" * 70 + ", Bcc: x@evil.example",
        'Kim "the boss", <Lee>',
        "김민지 " * 12 + ", Bcc: x@e.example",
    ],
)
def test_a_name_with_an_address_in_it_stays_the_name_of_the_sender(
    client, session, redis_conn, name
):
    response = _send(client, name=name)
    assert response.status_code == 200, response.data[:500]
    ticket = session.scalars(select(Ticket)).one()
    customer = session.get(Customer, ticket.customer_id)
    assert customer.email == "minji@example.com"
    assert "".join(customer.name.split()) == "".join(name.split())
    assert _count(session, Customer) == 1
    raw = session.scalars(select(RawMessage)).one().content
    assert b"evil" not in raw.split(b"\n\n")[0].lower()


def test_a_line_break_in_the_name_is_a_space(client, session, redis_conn):
    _send(client, name="Kim\r\nBcc: x@evil.example")
    customer = session.scalars(select(Customer)).one()
    assert (customer.email, customer.name) == ("minji@example.com", "Kim Bcc: x@evil.example")
