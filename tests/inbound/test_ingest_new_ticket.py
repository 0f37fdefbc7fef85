"""A new mail opens a ticket for its customer, with its message, people and attachments."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

from sqlalchemy import func, select

from helpdesk.customers.models import Customer, SubscriptionStatus
from helpdesk.inbound.incoming import IngestSettings
from helpdesk.mail.models import RawStatus
from helpdesk.tickets.models import (
    Attachment,
    AttachmentBlob,
    Message,
    MessageKind,
    Participant,
    Ticket,
    TicketStatus,
)
from tests.factories import make_mailbox, make_user
from tests.tickets.mails import SETTINGS, ingest, mail


def test_new_mail_opens_a_ticket_for_a_new_customer(session):
    mailbox = make_mailbox(session)
    result = ingest(session, mail(), mailbox=mailbox)
    assert result.status == RawStatus.ingested
    assert result.created_ticket
    ticket = session.get(Ticket, result.ticket_id)
    assert ticket.subject == "Order 1001 missing"
    assert ticket.status == TicketStatus.new
    assert ticket.mailbox_id == mailbox.id
    assert ticket.last_customer_message_at is not None
    customer = session.get(Customer, ticket.customer_id)
    assert customer.email == "minji@example.com"
    assert customer.name == "Kim Minji"
    assert customer.subscription_status == SubscriptionStatus.not_subscribed


def test_existing_customer_is_matched_by_normalized_address(session):
    session.add(Customer(email="minji@example.com", name="Minji Kim (VIP)"))
    session.commit()
    result = ingest(session, mail(sender="Someone <minji@EXAMPLE.com>"))
    ticket = session.get(Ticket, result.ticket_id)
    customer = session.get(Customer, ticket.customer_id)
    assert customer.name == "Minji Kim (VIP)"
    assert session.scalar(select(func.count()).select_from(Customer)) == 1


def test_message_row_keeps_headers_and_bodies(session):
    body = "Hi,\nwhere is my order?\n\n-- \nMinji\n"
    raw = mail(
        body=body,
        headers={
            "In-Reply-To": "<unknown-1@example.com>",
            "References": "<unknown-0@example.com> <unknown-1@example.com>",
            "Cc": "Lee <lee@example.com>",
        },
    )
    result = ingest(session, raw)
    message = session.get(Message, result.message_id)
    assert message.kind == MessageKind.customer
    assert message.message_id == "m1@example.com"
    assert message.in_reply_to == "unknown-1@example.com"
    assert message.references == ["unknown-0@example.com", "unknown-1@example.com"]
    assert message.from_email == "minji@example.com"
    assert message.from_name == "Kim Minji"
    assert message.to == ["support@helpdesk.test"]
    assert message.cc == ["lee@example.com"]
    assert message.subject == "Order 1001 missing"
    assert "where is my order?" in message.body_text
    assert "where is my order?" in message.body_reply
    assert "Minji" not in message.body_reply
    assert message.raw_message_id == result.raw_message_id


def test_cc_addresses_become_participants_but_ours_do_not(session):
    make_mailbox(session)
    settings = IngestSettings(
        secret_key=SETTINGS.secret_key,
        domain="helpdesk.test",
        own_addresses=frozenset({"billing@helpdesk.test"}),
    )
    raw = mail(
        headers={
            "Cc": "Lee <lee@example.com>, support@helpdesk.test, BILLING@helpdesk.test,"
            " minji@example.com"
        }
    )
    result = ingest(session, raw, settings=settings)
    participants = session.scalars(
        select(Participant).where(Participant.ticket_id == result.ticket_id)
    ).all()
    assert [(p.email, p.name) for p in participants] == [("lee@example.com", "Lee")]


def test_html_only_mail_is_stored_sanitized(session):
    raw = mail(
        body='<p>Help <b>please</b></p><script>alert(1)</script><img src=x onerror="bad()">',
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    message = session.get(Message, ingest(session, raw).message_id)
    assert "<b>please</b>" in message.body_html_safe
    assert "script" not in message.body_html_safe
    assert "onerror" not in message.body_html_safe
    assert "please" in message.body_text


def test_korean_subject_and_body_read_correctly(session):
    subject = "=?EUC-KR?B?" + base64.b64encode("주문 배송 문의".encode("euc-kr")).decode() + "?="
    body = base64.b64encode("안녕하세요. 주문한 상품이 아직 도착하지 않았습니다.".encode("euc-kr"))
    raw = (
        b"From: =?UTF-8?B?" + base64.b64encode("김민지".encode()) + b"?= <minji@example.co.kr>\r\n"
        b"To: support@helpdesk.test\r\n"
        b"Subject: " + subject.encode() + b"\r\n"
        b"Message-ID: <kr1@example.co.kr>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=euc-kr\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + body + b"\r\n"
    )
    result = ingest(session, raw)
    ticket = session.get(Ticket, result.ticket_id)
    assert ticket.subject == "주문 배송 문의"
    assert session.get(Customer, ticket.customer_id).name == "김민지"
    assert "아직 도착하지 않았습니다" in session.get(Message, result.message_id).body_text


def with_attachment(message_id: str, content: bytes, filename: str = "receipt.pdf") -> bytes:
    encoded = base64.encodebytes(content).decode().replace("\n", "\r\n")
    return (
        "From: Kim Minji <minji@example.com>\r\n"
        "To: support@helpdesk.test\r\n"
        "Subject: Receipt\r\n"
        f"Message-ID: <{message_id}>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n"
        f"--b1\r\nContent-Type: application/pdf\r\n"
        f'Content-Disposition: attachment; filename="{filename}"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{encoded}--b1--\r\n"
    ).encode()


def test_same_attachment_in_two_messages_is_stored_once(session):
    content = b"%PDF-1.4 receipt " * 100
    first = ingest(session, with_attachment("a1@example.com", content))
    second = ingest(session, with_attachment("a2@example.com", content, "copy.pdf"))
    sha = hashlib.sha256(content).hexdigest()
    blobs = session.scalars(select(AttachmentBlob)).all()
    assert [(b.sha256, b.size, b.content) for b in blobs] == [(sha, len(content), content)]
    rows = session.scalars(select(Attachment).order_by(Attachment.id)).all()
    assert [(a.message_id, a.filename, a.blob_sha256) for a in rows] == [
        (first.message_id, "receipt.pdf", sha),
        (second.message_id, "copy.pdf", sha),
    ]
    assert rows[0].content_type == "application/pdf"
    assert rows[0].size == len(content)


def test_too_large_attachment_is_listed_without_bytes_and_the_message_lands(session):
    settings = IngestSettings(
        secret_key=SETTINGS.secret_key, domain="helpdesk.test", max_attachment_bytes=1000
    )
    result = ingest(session, with_attachment("big@example.com", b"x" * 5000), settings=settings)
    assert result.status == RawStatus.ingested
    message = session.get(Message, result.message_id)
    assert "See attached." in message.body_text
    [attachment] = message.attachments
    assert attachment.too_large
    assert attachment.blob_sha256 is None
    assert attachment.filename == "receipt.pdf"
    assert session.scalar(select(func.count()).select_from(AttachmentBlob)) == 0


def test_new_ticket_gets_its_first_response_target(session):
    result = ingest(session, mail())
    ticket = session.get(Ticket, result.ticket_id)
    assert ticket.customer_replied_last
    assert ticket.response_due_at == ticket.last_customer_message_at + timedelta(hours=4)


def test_new_ticket_is_assigned_round_robin_when_the_mailbox_says_so(session):
    first_agent = make_user(session, email="a1@example.com")
    second_agent = make_user(session, email="a2@example.com")
    mailbox = make_mailbox(session, auto_assign=True)
    one = ingest(session, mail(), mailbox=mailbox)
    two = ingest(session, mail(message_id="<m2@example.com>"), mailbox=mailbox)
    reply = ingest(
        session,
        mail(message_id="<m3@example.com>", headers={"In-Reply-To": "<m1@example.com>"}),
        mailbox=mailbox,
    )
    assert reply.ticket_id == one.ticket_id
    assignees = [session.get(Ticket, r.ticket_id).assignee_id for r in (one, two)]
    assert assignees == [first_agent.id, second_agent.id]
