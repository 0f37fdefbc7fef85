"""The SMTP gateway through smtplib against a running aiosmtpd: what it accepts and refuses."""

from __future__ import annotations

import smtplib

import pytest
from sqlalchemy import event, func, select

from helpdesk.db import database
from helpdesk.inbound.gateway import make_gateway
from helpdesk.mail.models import RawMessage, RawSource, RawStatus
from helpdesk.tickets.models import Ticket
from tests.conftest import free_port
from tests.factories import make_mailbox
from tests.tickets.mails import mail

MAX_BYTES = 20_000
LINE = "x" * 76 + "\n"


@pytest.fixture
def mailbox(session):
    return make_mailbox(session, name="Support", address="support@helpdesk.test")


@pytest.fixture
def gateway(app, config, mailbox):
    controller = make_gateway(config.with_overrides(smtpd_max_bytes=MAX_BYTES), port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def smtp(gateway):
    with smtplib.SMTP(gateway.hostname, gateway.port, timeout=30) as client:
        yield client


def count(session, model, *where) -> int:
    number = session.scalar(select(func.count()).select_from(model).where(*where))
    session.commit()
    return number


def test_accepted_mail_becomes_a_ticket(session, smtp, mailbox):
    refused = smtp.sendmail("minji@example.com", ["Support@Helpdesk.test"], mail())

    assert refused == {}
    raw = session.scalars(select(RawMessage)).one()
    assert (raw.source, raw.mailbox_id, raw.status) == (
        RawSource.smtp,
        mailbox.id,
        RawStatus.ingested,
    )
    ticket = session.get(Ticket, raw.ticket_id)
    assert (ticket.subject, ticket.mailbox_id) == ("Order 1001 missing", mailbox.id)


def test_unknown_recipient_is_refused_with_550(session, smtp):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        smtp.sendmail("minji@example.com", ["nobody@helpdesk.test"], mail())

    code, text = refused.value.recipients["nobody@helpdesk.test"]
    assert code == 550 and text.startswith(b"5.1.1")
    assert count(session, RawMessage) == 0


def test_inactive_mailbox_address_is_refused(session, smtp, mailbox):
    mailbox.is_active = False
    session.commit()

    smtp.ehlo()
    smtp.mail("minji@example.com")

    code, text = smtp.rcpt("support@helpdesk.test")

    assert code == 550 and text.startswith(b"5.1.1")


def test_message_over_the_size_limit_is_refused_with_552(session, smtp):
    smtp.ehlo()
    smtp.mail("minji@example.com")  # no SIZE parameter, so the limit bites during DATA
    smtp.rcpt("support@helpdesk.test")

    code, text = smtp.data(mail(LINE * (MAX_BYTES // len(LINE) + 10)))

    assert code == 552 and text.startswith(b"5.3.4")
    assert count(session, RawMessage) == 0


def test_declared_size_over_the_limit_is_refused_before_data(session, smtp):
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        smtp.sendmail(
            "minji@example.com", ["support@helpdesk.test"], mail(LINE * (MAX_BYTES // len(LINE)))
        )

    assert refused.value.smtp_code == 552 and refused.value.smtp_error.startswith(b"5.3.4")


def test_mail_to_two_of_our_mailboxes_makes_one_ticket(session, smtp, mailbox):
    sales = make_mailbox(session, name="Sales", address="sales@helpdesk.test")

    smtp.sendmail("minji@example.com", ["support@helpdesk.test", "sales@helpdesk.test"], mail())

    raws = session.scalars(select(RawMessage).order_by(RawMessage.id)).all()
    assert [(r.mailbox_id, r.status) for r in raws] == [
        (mailbox.id, RawStatus.ingested),
        (sales.id, RawStatus.duplicate),
    ]
    assert count(session, Ticket) == 1


@pytest.fixture
def failing_raw_store():
    """The database refuses to store raw mail, as during an outage or with a full disk."""

    def refuse(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO RAW_MESSAGES"):
            raise RuntimeError("disk full")

    event.listen(database.engine, "before_cursor_execute", refuse)
    yield
    event.remove(database.engine, "before_cursor_execute", refuse)


def test_failure_to_store_answers_451_and_writes_nothing(session, smtp, failing_raw_store):
    smtp.ehlo()
    smtp.mail("minji@example.com")
    smtp.rcpt("support@helpdesk.test")

    code, text = smtp.data(mail())

    assert code == 451 and text.startswith(b"4.3.0")
    assert count(session, RawMessage) == 0
    assert count(session, Ticket) == 0


def test_sender_retry_after_a_451_is_accepted_once(session, smtp, mailbox):
    def refuse_once(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO RAW_MESSAGES"):
            event.remove(database.engine, "before_cursor_execute", refuse_once)
            raise RuntimeError("database restarting")

    event.listen(database.engine, "before_cursor_execute", refuse_once)
    with pytest.raises(smtplib.SMTPDataError) as first:
        smtp.sendmail("minji@example.com", ["support@helpdesk.test"], mail())
    assert first.value.smtp_code == 451

    smtp.sendmail("minji@example.com", ["support@helpdesk.test"], mail())

    assert count(session, RawMessage) == 1
    assert count(session, Ticket) == 1


def test_a_bounce_to_a_campaign_return_address_is_accepted(session, smtp):
    refused = smtp.sendmail("", ["bounces+0123abcd@helpdesk.test"], mail())

    assert refused == {}
    raw = session.scalars(select(RawMessage)).one()
    assert raw.mailbox_id is None
    session.commit()


def test_a_return_address_at_another_domain_is_refused(session, smtp):
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        smtp.sendmail("", ["bounces+0123abcd@elsewhere.example"], mail())
    assert count(session, RawMessage) == 0


@pytest.fixture
def start_gateway(app):
    """Starts a gateway for a given configuration; stops them all after the test."""
    controllers = []

    def start(config):
        controller = make_gateway(config, port=free_port())
        controller.start()
        controllers.append(controller)
        return controller

    yield start
    for controller in controllers:
        controller.stop()


def rcpt_codes(controller, addresses: list[str]) -> dict[str, int]:
    with smtplib.SMTP(controller.hostname, controller.port, timeout=30) as client:
        client.ehlo()
        client.mail("")
        return {address: client.rcpt(address)[0] for address in addresses}


def test_a_site_reached_by_ip_takes_back_its_return_addresses_as_domain_literals(
    session, config, start_gateway
):
    gateway = start_gateway(config.with_overrides(public_url="http://127.0.0.1:5000"))

    codes = rcpt_codes(
        gateway,
        [
            "bounces+0123abcd@[127.0.0.1]",
            "unsubscribe+0123abcd@[127.0.0.1]",
            # Mail sent before IP addresses became domain literals named the bare address.
            "bounces+0123abcd@127.0.0.1",
            "bounces+0123abcd@[127.0.0.2]",
            "bounces+0123abcd@helpdesk.test",
        ],
    )

    assert codes == {
        "bounces+0123abcd@[127.0.0.1]": 250,
        "unsubscribe+0123abcd@[127.0.0.1]": 250,
        "bounces+0123abcd@127.0.0.1": 250,
        "bounces+0123abcd@[127.0.0.2]": 550,
        "bounces+0123abcd@helpdesk.test": 550,
    }


def test_a_site_reached_by_ipv6_takes_back_its_return_addresses(session, config, start_gateway):
    gateway = start_gateway(config.with_overrides(public_url="http://[::1]:5000"))

    codes = rcpt_codes(
        gateway,
        ["bounces+0123abcd@[IPv6:::1]", "bounces+0123abcd@[ipv6:0:0::1]", "bounces+1@[IPv6:::2]"],
    )

    assert codes == {
        "bounces+0123abcd@[IPv6:::1]": 250,
        "bounces+0123abcd@[ipv6:0:0::1]": 250,
        "bounces+1@[IPv6:::2]": 550,
    }


def test_a_configured_mail_domain_is_accepted_beside_the_public_url_host(
    session, config, start_gateway
):
    gateway = start_gateway(
        config.with_overrides(public_url="http://127.0.0.1:5000", mail_domain="mail.example.com")
    )

    codes = rcpt_codes(
        gateway,
        [
            "bounces+0123abcd@mail.example.com",
            "unsubscribe+0123abcd@Mail.Example.COM",
            "bounces+0123abcd@[127.0.0.1]",
            "bounces+0123abcd@other.example.com",
        ],
    )

    assert codes == {
        "bounces+0123abcd@mail.example.com": 250,
        "unsubscribe+0123abcd@Mail.Example.COM": 250,
        "bounces+0123abcd@[127.0.0.1]": 250,
        "bounces+0123abcd@other.example.com": 550,
    }


def test_a_bounce_to_a_domain_literal_return_address_is_stored(session, config, start_gateway):
    gateway = start_gateway(config.with_overrides(public_url="http://127.0.0.1:5000"))

    with smtplib.SMTP(gateway.hostname, gateway.port, timeout=30) as client:
        refused = client.sendmail("", ["bounces+0123abcd@[127.0.0.1]"], mail())

    assert refused == {}
    assert count(session, RawMessage, RawMessage.source == RawSource.smtp) == 1
