"""Receipts for new tickets from the poller and the gateway reach the mail queue and go out."""

from __future__ import annotations

import smtplib

from rq import Queue, SimpleWorker
from sqlalchemy import select

from helpdesk.inbound.gateway import make_gateway
from helpdesk.inbound.poll import poll_mailbox
from helpdesk.queue import MAIL_QUEUE
from helpdesk.tickets.models import Message, MessageKind, SendStatus, Ticket
from tests.conftest import free_port
from tests.factories import make_mailbox
from tests.tickets.mails import mail


def run_mail_queue(redis_conn) -> None:
    queue = Queue(MAIL_QUEUE, connection=redis_conn)
    SimpleWorker([queue], connection=redis_conn).work(burst=True)


def acknowledgement_of(session, ticket_id: int) -> Message:
    row = session.scalars(
        select(Message).where(
            Message.ticket_id == ticket_id, Message.kind == MessageKind.acknowledgement
        )
    ).one()
    # On SQLite an open read transaction would hold the lock the worker needs.
    session.commit()
    return row


def assert_receipt(relay, ticket_id: int) -> None:
    [delivered] = relay.received
    recipients, sent = delivered.rcpt_tos, delivered.message
    assert recipients == ["minji@example.com"]
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent["Subject"] == f"Re: Order 1001 missing [#{ticket_id}]"
    assert sent["In-Reply-To"] == "<m1@example.com>"


def test_polled_mail_gets_its_acknowledgement_queued_and_sent(
    session, config, imap_mailbox, imap_account, redis_conn, smtp_relay
):
    imap_mailbox.send_acknowledgement = True
    session.commit()
    imap_account.append(mail())

    result = poll_mailbox(imap_mailbox.id, config)

    assert result.ingested == 1
    assert Queue(MAIL_QUEUE, connection=redis_conn).count == 1
    assert smtp_relay.received == []
    run_mail_queue(redis_conn)
    ticket_id = session.scalars(select(Ticket.id)).one()
    assert_receipt(smtp_relay, ticket_id)
    session.expire_all()
    assert acknowledgement_of(session, ticket_id).send_status == SendStatus.sent


def test_mail_through_the_gateway_gets_its_acknowledgement_queued_and_sent(
    app, session, config, redis_conn, smtp_relay
):
    make_mailbox(session, address="support@helpdesk.test", send_acknowledgement=True)
    gateway = make_gateway(config, port=free_port())
    gateway.start()
    try:
        with smtplib.SMTP(gateway.hostname, gateway.port, timeout=30) as client:
            client.sendmail("minji@example.com", ["support@helpdesk.test"], mail())
    finally:
        gateway.stop()

    assert Queue(MAIL_QUEUE, connection=redis_conn).count == 1
    run_mail_queue(redis_conn)
    ticket_id = session.scalars(select(Ticket.id)).one()
    session.commit()
    assert_receipt(smtp_relay, ticket_id)
    assert acknowledgement_of(session, ticket_id).send_status == SendStatus.sent


def test_mailbox_without_acknowledgements_queues_nothing(
    session, config, imap_mailbox, imap_account, redis_conn
):
    imap_account.append(mail())

    assert poll_mailbox(imap_mailbox.id, config).ingested == 1

    assert Queue(MAIL_QUEUE, connection=redis_conn).count == 0
