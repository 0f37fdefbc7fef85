"""Receipts for new tickets from the poller and the gateway reach the mail queue and go out."""

from __future__ import annotations

import smtplib
from email import policy
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller
from rq import Queue, SimpleWorker
from sqlalchemy import select

from helpdesk.mail.gateway import make_gateway
from helpdesk.mail.imap import poll_mailbox
from helpdesk.queue import MAIL_QUEUE
from helpdesk.tickets.models import Message, MessageKind, SendStatus, Ticket
from tests.conftest import free_port
from tests.factories import make_mailbox
from tests.tickets.mails import mail


class Recorder:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 OK"


@pytest.fixture
def relay(monkeypatch, tmp_path):
    """The SMTP relay the worker sends through; the worker reads it from the environment."""
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{controller.port}")
    monkeypatch.setenv("SECRET_KEY", "worker-secret")
    monkeypatch.setenv("HELPDESK_INSTANCE", str(tmp_path / "worker"))
    yield recorder
    controller.stop()


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


def assert_receipt(recorder: Recorder, ticket_id: int) -> None:
    [(recipients, sent)] = recorder.received
    assert recipients == ["minji@example.com"]
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent["Subject"] == f"Re: Order 1001 missing [#{ticket_id}]"
    assert sent["In-Reply-To"] == "<m1@example.com>"


def test_polled_mail_gets_its_acknowledgement_queued_and_sent(
    session, config, imap_mailbox, imap_account, redis_conn, relay
):
    imap_mailbox.send_acknowledgement = True
    session.commit()
    imap_account.append(mail())

    result = poll_mailbox(imap_mailbox.id, config)

    assert result.ingested == 1
    assert Queue(MAIL_QUEUE, connection=redis_conn).count == 1
    assert relay.received == []
    run_mail_queue(redis_conn)
    ticket_id = session.scalars(select(Ticket.id)).one()
    assert_receipt(relay, ticket_id)
    session.expire_all()
    assert acknowledgement_of(session, ticket_id).send_status == SendStatus.sent


def test_mail_through_the_gateway_gets_its_acknowledgement_queued_and_sent(
    app, session, config, redis_conn, relay
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
    assert_receipt(relay, ticket_id)
    assert acknowledgement_of(session, ticket_id).send_status == SendStatus.sent


def test_mailbox_without_acknowledgements_queues_nothing(
    session, config, imap_mailbox, imap_account, redis_conn
):
    imap_account.append(mail())

    assert poll_mailbox(imap_mailbox.id, config).ingested == 1

    assert Queue(MAIL_QUEUE, connection=redis_conn).count == 0
