"""The job that mails acknowledgements and replies, against a real aiosmtpd server."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller
from rq import Queue, SimpleWorker

from helpdesk.queue import MAIL_QUEUE
from helpdesk.tickets.jobs import NotSendable, enqueue_ticket_message, send_ticket_message
from helpdesk.tickets.models import Message, MessageKind, SendStatus
from tests.conftest import free_port
from tests.factories import make_mailbox, make_ticket
from tests.tickets.mails import SETTINGS, ingest, mail


class Recorder:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(
            (
                list(envelope.rcpt_tos),
                BytesParser(policy=policy.default).parsebytes(envelope.original_content),
            )
        )
        return "250 OK"


class Refuser:
    async def handle_RCPT(self, server, session, envelope, address, options):
        return "550 5.1.1 mailbox unavailable"


@pytest.fixture
def smtp():
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield f"smtp://127.0.0.1:{controller.port}", recorder
    controller.stop()


def reload(session, message_id) -> Message:
    """The row as the job left it; the read transaction ends at once, because on SQLite
    every transaction takes the write lock the job needs."""
    session.expire_all()
    row = session.get(Message, message_id)
    session.commit()
    return row


@pytest.fixture
def acknowledgement(session):
    mailbox = make_mailbox(session, send_acknowledgement=True, name="Support")
    result = ingest(session, mail(subject="배송 문의"), mailbox=mailbox)
    return reload(session, result.acknowledgement_id)


def test_acknowledgement_is_sent_with_threading_and_loop_headers(session, smtp, acknowledgement):
    url, recorder = smtp
    assert send_ticket_message(acknowledgement.id, smtp_url=url) == SendStatus.sent
    [(recipients, sent)] = recorder.received
    assert recipients == ["minji@example.com"]
    assert sent["Message-ID"] == f"<{acknowledgement.message_id}>"
    assert sent["In-Reply-To"] == "<m1@example.com>"
    assert "<m1@example.com>" in sent["References"]
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent["X-Helpdesk-Loop"] == "support@helpdesk.test"
    assert sent["Subject"] == f"Re: 배송 문의 [#{acknowledgement.ticket_id}]"
    assert sent["From"].addresses[0].addr_spec == "support@helpdesk.test"
    assert f"[ref:T{acknowledgement.ticket_id}-" in sent.get_content()
    row = reload(session, acknowledgement.id)
    assert row.send_status == SendStatus.sent
    assert row.sent_at is not None


def test_sending_twice_delivers_once(session, smtp, acknowledgement):
    url, recorder = smtp
    send_ticket_message(acknowledgement.id, smtp_url=url)
    assert send_ticket_message(acknowledgement.id, smtp_url=url) == SendStatus.sent
    assert len(recorder.received) == 1


def test_our_sent_acknowledgement_coming_back_is_dropped(session, smtp, acknowledgement):
    url, recorder = smtp
    send_ticket_message(acknowledgement.id, smtp_url=url)
    [(_, sent)] = recorder.received
    result = ingest(session, bytes(sent))
    assert result.status.value == "dropped"


def test_refused_message_is_marked_failed_with_the_smtp_error(session, acknowledgement):
    controller = Controller(Refuser(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        status = send_ticket_message(
            acknowledgement.id, smtp_url=f"smtp://127.0.0.1:{controller.port}"
        )
    finally:
        controller.stop()
    assert status == SendStatus.failed
    row = reload(session, acknowledgement.id)
    assert row.send_status == SendStatus.failed
    assert "mailbox unavailable" in row.send_error
    assert row.sent_at is None


def test_unreachable_relay_fails_and_a_later_run_sends(session, smtp, acknowledgement):
    url, recorder = smtp
    dead = f"smtp://127.0.0.1:{free_port()}"
    assert send_ticket_message(acknowledgement.id, smtp_url=dead) == SendStatus.failed
    assert reload(session, acknowledgement.id).send_error
    assert send_ticket_message(acknowledgement.id, smtp_url=url) == SendStatus.sent
    assert len(recorder.received) == 1
    assert reload(session, acknowledgement.id).send_error == ""


def test_reply_is_sent_without_auto_submitted(session, smtp):
    url, recorder = smtp
    ticket = make_ticket(session, customer_email="minji@example.com")
    reply = Message(
        ticket_id=ticket.id,
        kind=MessageKind.reply,
        message_id=f"helpdesk.t{ticket.id}.abc.0123456789@{SETTINGS.domain}",
        from_email="support@helpdesk.test",
        to=["minji@example.com"],
        cc=["boss@example.com"],
        subject="Re: Question",
        body_text="Your refund is on its way.",
        send_status=SendStatus.queued,
    )
    session.add(reply)
    session.commit()
    assert send_ticket_message(reply.id, smtp_url=url) == SendStatus.sent
    [(recipients, sent)] = recorder.received
    assert sorted(recipients) == ["boss@example.com", "minji@example.com"]
    assert sent["Auto-Submitted"] is None
    assert sent["In-Reply-To"] is None


def test_internal_notes_are_never_mailed(session, smtp):
    ticket = make_ticket(session)
    note = Message(ticket_id=ticket.id, kind=MessageKind.note, body_text="internal")
    session.add(note)
    session.commit()
    with pytest.raises(NotSendable):
        send_ticket_message(note.id, smtp_url=smtp[0])
    assert smtp[1].received == []


def test_queued_job_sends_through_the_configured_relay(
    session, smtp, acknowledgement, config, redis_conn, monkeypatch, tmp_path
):
    url, recorder = smtp
    # The worker reads its settings from the environment, as in production.
    monkeypatch.setenv("SMTP_URL", url)
    monkeypatch.setenv("SECRET_KEY", "worker-secret")
    monkeypatch.setenv("HELPDESK_INSTANCE", str(tmp_path / "worker"))
    job = enqueue_ticket_message(config, acknowledgement.id)
    assert job.origin == MAIL_QUEUE
    worker = SimpleWorker([Queue(MAIL_QUEUE, connection=redis_conn)], connection=redis_conn)
    worker.work(burst=True)
    assert len(recorder.received) == 1
    assert reload(session, acknowledgement.id).send_status == SendStatus.sent
