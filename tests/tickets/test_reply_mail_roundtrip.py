"""End to end: a reply sent by the worker's job reaches a real SMTP server with the
threading headers, and the customer's answer to it threads back into the same ticket."""

from __future__ import annotations

from rq import Queue, SimpleWorker
from sqlalchemy import select

from helpdesk.queue import MAIL_QUEUE
from helpdesk.tickets.models import Message, MessageKind, SendStatus, Ticket, TicketStatus
from tests.factories import make_mailbox
from tests.helpers import post_form
from tests.tickets.mails import ingest, mail


def test_reply_arrives_threaded_and_the_answer_comes_back_to_the_ticket(
    agent_client, session, redis_conn, smtp_relay
):
    mailbox = make_mailbox(session, name="Hanbit Support", address="help@hanbit.test")
    first = ingest(
        session,
        mail("주문한 책이 아직 안 왔어요.", subject="배송 문의", message_id="<q1@example.com>"),
        mailbox=mailbox,
    )
    ticket_id = first.ticket_id
    response = post_form(
        agent_client,
        f"/tickets/{ticket_id}/replies",
        {
            "body": "오늘 발송되었습니다.",
            "cc": "manager@example.com",
            "status": "waiting",
            "seen_message_id": str(first.message_id),
        },
    )
    assert response.status_code == 302

    worker = SimpleWorker([Queue(MAIL_QUEUE, connection=redis_conn)], connection=redis_conn)
    assert worker.work(burst=True)

    reply_message_id, status = session.execute(
        select(Message.message_id, Message.send_status).where(
            Message.ticket_id == ticket_id, Message.kind == MessageKind.reply
        )
    ).one()
    session.commit()
    [delivered] = smtp_relay.received
    recipients, sent = delivered.rcpt_tos, delivered.message
    assert status == SendStatus.sent
    assert sorted(recipients) == ["manager@example.com", "minji@example.com"]
    assert sent["From"] == "Hanbit Support <help@hanbit.test>"
    assert sent["Subject"] == f"Re: 배송 문의 [#{ticket_id}]"
    assert sent["Message-ID"] == f"<{reply_message_id}>"
    assert sent["In-Reply-To"] == "<q1@example.com>"
    assert sent["References"] == "<q1@example.com>"
    assert sent["Cc"] == "manager@example.com"
    assert "오늘 발송되었습니다." in sent.get_body(("plain",)).get_content()

    answer = ingest(
        session,
        mail(
            "감사합니다! 잘 받았어요.",
            subject=f"Re: 배송 문의 [#{ticket_id}]",
            message_id="<q2@example.com>",
            headers={
                "In-Reply-To": sent["Message-ID"],
                "References": f"<q1@example.com> {sent['Message-ID']}",
            },
        ),
        mailbox=mailbox,
    )
    assert answer.ticket_id == ticket_id
    assert not answer.created_ticket
    ticket = session.get(Ticket, ticket_id)
    assert ticket.status == TicketStatus.open
    assert ticket.customer_replied_last is True
    session.commit()
