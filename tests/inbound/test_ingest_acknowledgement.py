"""The optional automatic receipt for new tickets, and when it must not go out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpdesk.inbound.incoming import IngestSettings
from helpdesk.mail.models import RawStatus
from helpdesk.tickets.models import Message, MessageKind, SendStatus
from helpdesk.tickets.threading import ticket_id_from_body, ticket_id_from_message_id
from tests.factories import make_mailbox
from tests.tickets.mails import SETTINGS, ingest, mail


def acking_mailbox(session, **overrides):
    return make_mailbox(session, send_acknowledgement=True, **overrides)


def test_new_ticket_gets_a_queued_acknowledgement(session):
    mailbox = acking_mailbox(session)
    result = ingest(session, mail(), mailbox=mailbox)
    ack = session.get(Message, result.acknowledgement_id)
    assert ack.kind == MessageKind.acknowledgement
    assert ack.ticket_id == result.ticket_id
    assert ack.send_status == SendStatus.queued
    assert ack.subject == f"Re: Order 1001 missing [#{result.ticket_id}]"
    assert ack.to == ["minji@example.com"]
    assert ack.from_email == mailbox.address
    assert ack.in_reply_to == "m1@example.com"
    assert ticket_id_from_message_id(ack.message_id, SETTINGS.secret_key) == result.ticket_id
    assert ack.message_id.endswith("@helpdesk.test")
    assert f"#{result.ticket_id}" in ack.body_text
    assert ticket_id_from_body(ack.body_text, SETTINGS.secret_key) == result.ticket_id


def test_reply_quoting_the_acknowledgement_threads_to_the_ticket(session):
    mailbox = acking_mailbox(session)
    first = ingest(session, mail(), mailbox=mailbox)
    ack = session.get(Message, first.acknowledgement_id)
    raw = mail(
        subject=ack.subject,
        message_id="<m2@example.com>",
        headers={"In-Reply-To": f"<{ack.message_id}>"},
    )
    second = ingest(session, raw, mailbox=mailbox)
    assert second.ticket_id == first.ticket_id
    assert second.acknowledgement_id is None


def test_no_acknowledgement_when_the_mailbox_does_not_send_them(session):
    result = ingest(session, mail(), mailbox=make_mailbox(session))
    assert result.created_ticket
    assert result.acknowledgement_id is None


def test_no_acknowledgement_for_replies_to_existing_tickets(session):
    mailbox = acking_mailbox(session)
    ingest(session, mail(), mailbox=mailbox)
    raw = mail(message_id="<m2@example.com>", headers={"In-Reply-To": "<m1@example.com>"})
    assert ingest(session, raw, mailbox=mailbox).acknowledgement_id is None


def test_no_acknowledgement_to_noreply_addresses(session):
    mailbox = acking_mailbox(session)
    for n, sender in enumerate(
        ["no-reply@shop.example", "NoReply@shop.example", "mailer-daemon@mx.example"]
    ):
        result = ingest(session, mail(sender=sender, message_id=f"<n{n}@x>"), mailbox=mailbox)
        assert result.acknowledgement_id is None, sender


def test_no_acknowledgement_to_mailing_lists(session):
    mailbox = acking_mailbox(session)
    raw = mail(headers={"List-Id": "Customers <customers.lists.example.com>"})
    assert ingest(session, raw, mailbox=mailbox).acknowledgement_id is None


def test_no_acknowledgement_to_bounces(session):
    mailbox = acking_mailbox(session)
    raw = mail(
        sender="MAILER-DAEMON@mx.example.com",
        subject="Undelivered Mail Returned to Sender",
        body="Your message could not be delivered: user unknown.",
        headers={"X-Failed-Recipients": "gone@example.com"},
    )
    result = ingest(session, raw, mailbox=mailbox)
    assert result.status == RawStatus.bounce
    assert result.acknowledgement_id is None


def test_no_acknowledgement_for_mail_dated_before_the_mailbox_start(session):
    mailbox = acking_mailbox(session, start_date=datetime(2026, 11, 1, tzinfo=UTC))
    old = ingest(session, mail(date="Tue, 20 Oct 2026 09:00:00 +0900"), mailbox=mailbox)
    assert old.created_ticket
    assert old.acknowledgement_id is None
    new = ingest(
        session,
        mail(date="Mon, 02 Nov 2026 09:00:00 +0900", message_id="<m2@example.com>"),
        mailbox=mailbox,
    )
    assert new.acknowledgement_id is not None


def test_acknowledgements_are_rate_limited_per_customer(session):
    mailbox = acking_mailbox(session)
    settings = IngestSettings(secret_key=SETTINGS.secret_key, domain="helpdesk.test", ack_limit=2)
    acks = [
        ingest(
            session, mail(message_id=f"<r{n}@example.com>"), mailbox=mailbox, settings=settings
        ).acknowledgement_id
        for n in range(3)
    ]
    assert acks[0] is not None and acks[1] is not None
    assert acks[2] is None
    other = ingest(
        session,
        mail(sender="other@example.com", message_id="<o@example.com>"),
        mailbox=mailbox,
        settings=settings,
    )
    assert other.acknowledgement_id is not None


def test_acknowledgements_outside_the_window_do_not_count(session):
    mailbox = acking_mailbox(session)
    settings = IngestSettings(secret_key=SETTINGS.secret_key, domain="helpdesk.test", ack_limit=1)
    first = ingest(session, mail(), mailbox=mailbox, settings=settings)
    ack = session.get(Message, first.acknowledgement_id)
    ack.created_at = ack.created_at - settings.ack_window - timedelta(minutes=1)
    session.commit()
    second = ingest(
        session, mail(message_id="<m2@example.com>"), mailbox=mailbox, settings=settings
    )
    assert second.acknowledgement_id is not None
