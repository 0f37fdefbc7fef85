"""One mail reaching us twice, by the IMAP poller and the SMTP gateway, is one message;
a different mail that reuses its Message-ID is not swallowed on the way."""

from __future__ import annotations

import smtplib

import pytest
from sqlalchemy import func, select

from helpdesk.inbound.gateway import make_gateway
from helpdesk.inbound.poll import poll_mailbox
from helpdesk.mail.models import RawMessage, RawSource, RawStatus
from helpdesk.tickets.models import Message, Ticket
from tests.conftest import free_port
from tests.tickets.mails import mail

GATEWAY_HOP = b"Received: from mx1.example.com by gateway.helpdesk.test; Mon, 23 Nov 2026\r\n"
MAILBOX_HOPS = (
    b"Delivered-To: support@helpdesk.test\r\n"
    b"Received: from mx2.example.net by imap.helpdesk.test; Mon, 23 Nov 2026\r\n"
)


@pytest.fixture
def gateway(app, config, imap_mailbox):
    controller = make_gateway(config, port=free_port())
    controller.start()
    yield controller
    controller.stop()


def send(gateway, raw: bytes) -> None:
    with smtplib.SMTP(gateway.hostname, gateway.port, timeout=30) as client:
        assert client.sendmail("minji@example.com", ["support@helpdesk.test"], raw) == {}


# The test's reads end their transaction at once: on SQLite an open one would hold the
# write lock that the poller and the gateway need.
def count(session, model) -> int:
    number = session.scalar(select(func.count()).select_from(model))
    session.commit()
    return number


def test_same_mail_in_the_mailbox_twice_is_one_message(session, config, imap_mailbox, imap_account):
    imap_account.append(MAILBOX_HOPS + mail(), MAILBOX_HOPS + mail())

    result = poll_mailbox(imap_mailbox.id, config)

    assert (result.fetched, result.ingested, result.duplicates) == (2, 1, 1)
    assert count(session, Message) == 1


def test_same_mail_through_the_gateway_and_the_mailbox_is_one_message(
    session, config, imap_mailbox, imap_account, gateway
):
    send(gateway, GATEWAY_HOP + mail())
    imap_account.append(MAILBOX_HOPS + mail())

    result = poll_mailbox(imap_mailbox.id, config)

    assert (result.fetched, result.ingested, result.duplicates) == (1, 0, 1)
    assert count(session, Ticket) == 1
    assert count(session, Message) == 1
    sources = session.execute(select(RawMessage.source, RawMessage.status)).all()
    session.commit()
    assert sorted(sources) == [
        (RawSource.imap, RawStatus.duplicate),
        (RawSource.smtp, RawStatus.ingested),
    ]


def test_other_mail_reusing_the_message_id_in_the_mailbox_is_taken_in(
    session, config, imap_mailbox, imap_account, gateway
):
    send(gateway, GATEWAY_HOP + mail())
    imap_account.append(MAILBOX_HOPS + mail("Another question.", sender="jisoo@example.org"))

    result = poll_mailbox(imap_mailbox.id, config)

    assert (result.fetched, result.ingested, result.duplicates) == (1, 1, 0)
    assert count(session, Ticket) == 2
