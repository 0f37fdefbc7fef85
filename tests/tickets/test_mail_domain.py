"""Ticket mail from a site reached by IP address: replies and acknowledgements carry
Message-IDs with a domain literal, and answers to them, or to earlier mail with the bare
address, thread back into the ticket."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.headerregistry import Address
from email.utils import parseaddr

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import select

from helpdesk.inbound.incoming import IngestSettings
from helpdesk.queue import MAIL_QUEUE
from helpdesk.tickets.jobs import build_ticket_email
from helpdesk.tickets.models import Message, MessageKind, SendStatus
from tests.factories import make_mailbox
from tests.helpers import post_form
from tests.tickets.mails import ingest, mail


@pytest.fixture
def config(config):
    return config.with_overrides(public_url="http://127.0.0.1:5000")


def domain_of(addr_spec: str) -> str:
    """The domain of an address as the email package reads it; refuses an invalid one."""
    address = Address(addr_spec=addr_spec)
    assert parseaddr(addr_spec) == ("", addr_spec)
    return address.domain


def answer(message_id: str, n: int) -> bytes:
    """The customer's answer, found only by the Message-ID it answers: no ticket number
    in the subject, no quoted marker."""
    return mail(
        "Thanks, that helped.",
        subject="Re: delivery",
        message_id=f"<answer{n}@example.com>",
        headers={"In-Reply-To": message_id, "References": message_id},
    )


def test_a_reply_goes_out_with_a_domain_literal_message_id_and_answers_thread_back(
    agent_client, session, redis_conn, smtp_relay
):
    mailbox = make_mailbox(session, name="Hanbit Support", address="help@hanbit.test")
    first = ingest(
        session, mail(subject="delivery", message_id="<q1@example.com>"), mailbox=mailbox
    )
    response = post_form(
        agent_client,
        f"/tickets/{first.ticket_id}/replies",
        {"body": "It left today.", "cc": "", "seen_message_id": str(first.message_id)},
    )
    assert response.status_code == 302
    worker = SimpleWorker([Queue(MAIL_QUEUE, connection=redis_conn)], connection=redis_conn)
    assert worker.work(burst=True)

    stored_id, status = session.execute(
        select(Message.message_id, Message.send_status).where(
            Message.ticket_id == first.ticket_id, Message.kind == MessageKind.reply
        )
    ).one()
    session.commit()
    [delivered] = smtp_relay.received
    mail_from, sent = delivered.mail_from, delivered.message
    assert status == SendStatus.sent
    assert sent["Message-ID"] == f"<{stored_id}>"
    assert sent["Message-ID"].defects == ()
    assert stored_id.startswith(f"helpdesk.t{first.ticket_id}.")
    assert domain_of(stored_id) == "[127.0.0.1]"
    assert domain_of(mail_from) == "hanbit.test"

    threaded = ingest(session, answer(sent["Message-ID"], 1), mailbox=mailbox)
    # Mail sent before domain literals named the bare address; it threads all the same.
    bare = sent["Message-ID"].replace("@[127.0.0.1]>", "@127.0.0.1>")
    threaded_bare = ingest(session, answer(bare, 2), mailbox=mailbox)
    session.commit()

    assert bare != sent["Message-ID"]
    assert (threaded.ticket_id, threaded.created_ticket) == (first.ticket_id, False)
    assert (threaded_bare.ticket_id, threaded_bare.created_ticket) == (first.ticket_id, False)


def test_an_acknowledgement_carries_a_domain_literal_message_id(session, config):
    mailbox = make_mailbox(session, send_acknowledgement=True)
    settings = IngestSettings.from_config(config)

    result = ingest(session, mail(), mailbox=mailbox, settings=settings)
    session.commit()
    email = build_ticket_email(session, result.acknowledgement_id)
    session.commit()

    message = message_from_bytes(email.as_bytes(), policy=policy.default)
    assert message["Message-ID"].defects == ()
    assert domain_of(message["Message-ID"].strip("<>")) == "[127.0.0.1]"
    answered = ingest(session, answer(message["Message-ID"], 1), mailbox=mailbox, settings=settings)
    assert answered.ticket_id == result.ticket_id
