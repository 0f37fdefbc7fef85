"""Our own mail is dropped; bounces, complaints and auto-replies never open a ticket."""

from __future__ import annotations

from sqlalchemy import func, select

from helpdesk.customers.models import Customer
from helpdesk.inbound.incoming import IngestSettings
from helpdesk.mail.models import DeliveryProblem, DeliveryProblemKind, RawMessage, RawStatus
from helpdesk.tickets.models import Message, MessageKind, Ticket, TicketStatus
from tests.factories import make_mailbox, make_ticket
from tests.tickets.mails import SETTINGS, ingest, mail


def tickets(session) -> int:
    return session.scalar(select(func.count()).select_from(Ticket))


def test_mail_from_a_mailbox_address_is_dropped(session):
    make_mailbox(session, address="support@helpdesk.test")
    result = ingest(session, mail(sender="Support <Support@helpdesk.test>"))
    assert result.status == RawStatus.dropped
    assert "own address" in result.reason
    assert session.get(RawMessage, result.raw_message_id).status_reason == result.reason
    assert tickets(session) == 0


def test_mail_from_a_configured_own_address_is_dropped(session):
    settings = IngestSettings(
        secret_key=SETTINGS.secret_key,
        domain="helpdesk.test",
        own_addresses=frozenset({"news@helpdesk.test"}),
    )
    result = ingest(session, mail(sender="news@helpdesk.test"), settings=settings)
    assert result.status == RawStatus.dropped
    assert tickets(session) == 0


def test_mail_carrying_our_loop_header_is_dropped(session):
    result = ingest(session, mail(headers={"X-Helpdesk-Loop": "support@helpdesk.test"}))
    assert result.status == RawStatus.dropped
    assert "X-Helpdesk-Loop" in result.reason
    assert tickets(session) == 0


DSN = (
    b"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
    b"To: support@helpdesk.test\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\n"
    b"Message-ID: <dsn1@mx.example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
    b"--r\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
    b"--r\r\nContent-Type: message/delivery-status\r\n\r\n"
    b"Reporting-MTA: dns; mx.example.com\r\n\r\n"
    b"Final-Recipient: rfc822; gone@example.com\r\n"
    b"Action: failed\r\n"
    b"Status: %s\r\n"
    b"Diagnostic-Code: smtp; %s\r\n"
    b"\r\n--r\r\nContent-Type: text/rfc822-headers\r\n\r\n"
    b"From: support@helpdesk.test\r\nTo: gone@example.com\r\n"
    b"Message-ID: <campaign-7@helpdesk.test>\r\nSubject: News\r\n"
    b"\r\n--r--\r\n"
)


def test_hard_bounce_is_recorded_for_the_customer_and_opens_no_ticket(session):
    customer = Customer(email="gone@example.com")
    session.add(customer)
    session.commit()
    result = ingest(session, DSN % (b"5.1.1", b"550 5.1.1 User unknown"))
    assert result.status == RawStatus.bounce
    assert result.ticket_id is None
    [problem] = session.scalars(select(DeliveryProblem)).all()
    assert problem.kind == DeliveryProblemKind.hard_bounce
    assert problem.recipient == "gone@example.com"
    assert problem.customer_id == customer.id
    assert problem.status_code == "5.1.1"
    assert "User unknown" in problem.diagnostic
    assert problem.original_message_id == "campaign-7@helpdesk.test"
    assert problem.raw_message_id == result.raw_message_id
    assert tickets(session) == 0
    assert session.scalar(select(func.count()).select_from(Customer)) == 1


def test_soft_bounce_is_recorded_as_soft(session):
    result = ingest(session, DSN % (b"4.2.2", b"452 4.2.2 Mailbox full"))
    assert result.status == RawStatus.bounce
    [problem] = session.scalars(select(DeliveryProblem)).all()
    assert problem.kind == DeliveryProblemKind.soft_bounce
    assert problem.customer_id is None
    assert tickets(session) == 0


ARF = (
    b"From: abuse@isp.example\r\n"
    b"To: support@helpdesk.test\r\n"
    b"Subject: Abuse report\r\n"
    b"Message-ID: <arf1@isp.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=feedback-report; boundary="f"\r\n\r\n'
    b"--f\r\nContent-Type: text/plain\r\n\r\nA complaint about a message.\r\n"
    b"--f\r\nContent-Type: message/feedback-report\r\n\r\n"
    b"Feedback-Type: abuse\r\nVersion: 1\r\nOriginal-Rcpt-To: <annoyed@example.com>\r\n"
    b"\r\n--f\r\nContent-Type: text/rfc822-headers\r\n\r\n"
    b"From: news@helpdesk.test\r\nTo: annoyed@example.com\r\nSubject: News\r\n"
    b"\r\n--f--\r\n"
)


def test_complaint_is_recorded_and_opens_no_ticket(session):
    customer = Customer(email="annoyed@example.com")
    session.add(customer)
    session.commit()
    result = ingest(session, ARF)
    assert result.status == RawStatus.complaint
    [problem] = session.scalars(select(DeliveryProblem)).all()
    assert problem.kind == DeliveryProblemKind.complaint
    assert problem.recipient == "annoyed@example.com"
    assert problem.customer_id == customer.id
    assert tickets(session) == 0


def out_of_office(subject="Automatic reply: Re: Question", headers=None):
    return mail(
        subject=subject,
        body="I am out of the office until Monday.",
        message_id="<ooo1@example.com>",
        headers={"Auto-Submitted": "auto-replied"} | (headers or {}),
    )


def test_auto_reply_is_attached_collapsed_and_does_not_reopen(session):
    ticket = make_ticket(session, customer_email="minji@example.com", status="resolved")
    result = ingest(session, out_of_office(subject=f"Automatic reply: Re: [#{ticket.id}]"))
    assert result.status == RawStatus.auto_reply
    assert result.ticket_id == ticket.id
    assert not result.created_ticket
    assert result.acknowledgement_id is None
    session.expire_all()
    ticket = session.get(Ticket, ticket.id)
    assert ticket.status == TicketStatus.resolved
    assert ticket.version == 1
    assert ticket.last_customer_message_at is None
    [message] = ticket.messages
    assert message.kind == MessageKind.auto_reply
    assert message.id == result.message_id


def test_auto_reply_threaded_by_in_reply_to(session):
    first = ingest(session, mail())
    result = ingest(session, out_of_office(headers={"In-Reply-To": "<m1@example.com>"}))
    assert result.status == RawStatus.auto_reply
    assert result.ticket_id == first.ticket_id


def test_auto_reply_threading_to_nothing_is_recorded_without_a_ticket(session):
    make_mailbox(session, send_acknowledgement=True)
    result = ingest(session, out_of_office())
    assert result.status == RawStatus.auto_reply
    assert result.ticket_id is None
    assert result.message_id is None
    assert tickets(session) == 0
    assert session.scalar(select(func.count()).select_from(Message)) == 0
    assert session.get(RawMessage, result.raw_message_id).status == RawStatus.auto_reply
