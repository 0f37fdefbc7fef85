"""The reply composer and Retry button through the web app: queued on the mail queue,
refused with what is new when the ticket moved on, bad input changing nothing."""

from __future__ import annotations

import io
import re

import pytest
from rq import Queue
from sqlalchemy import select

from helpdesk import create_app
from helpdesk.queue import MAIL_QUEUE
from helpdesk.tickets.models import (
    Attachment,
    Message,
    MessageKind,
    SendStatus,
    Ticket,
    TicketStatus,
)
from tests.factories import make_mailbox, make_message, make_ticket
from tests.helpers import csrf_token, login, post_form
from tests.tickets.mails import ingest, mail


@pytest.fixture
def conversation(session):
    mailbox = make_mailbox(session)
    result = ingest(session, mail(subject="Order 1001 missing"), mailbox=mailbox)
    return result.ticket_id, result.message_id


def replies(session, ticket_id) -> list[Message]:
    # populate_existing, not expire_all: an expired fixture user would open a transaction
    # when next touched, and on SQLite that holds the lock the app needs.
    rows = session.scalars(
        select(Message)
        .where(Message.ticket_id == ticket_id, Message.kind == MessageKind.reply)
        .order_by(Message.id)
        .execution_options(populate_existing=True)
    ).all()
    session.commit()
    return rows


def send(client, ticket_id, seen, body="We are on it.", **fields):
    data = {"body": body, "cc": "", "status": "waiting", "seen_message_id": str(seen)} | fields
    return post_form(client, f"/tickets/{ticket_id}/replies", data)


def queued_jobs(redis_conn):
    return [
        (job.func_name, job.args) for job in Queue(MAIL_QUEUE, connection=redis_conn).get_jobs()
    ]


def test_reply_is_stored_and_its_send_job_queued(agent_client, session, redis_conn, conversation):
    ticket_id, seen = conversation
    response = send(agent_client, ticket_id, seen)
    [reply] = replies(session, ticket_id)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/tickets/{ticket_id}#message-{reply.id}")
    assert reply.send_status == SendStatus.queued
    assert queued_jobs(redis_conn) == [("helpdesk.tickets.jobs.send_ticket_message", (reply.id,))]


def test_composer_offers_the_newest_message_as_seen(agent_client, conversation):
    ticket_id, seen = conversation
    html = agent_client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    assert re.search(rf'name="seen_message_id" type="hidden" value="{seen}"', html)
    assert '<option selected value="waiting">Waiting on customer</option>' in html


def test_reply_after_someone_else_replied_is_refused_and_shows_their_reply(
    client, session, agent, admin, redis_conn, conversation
):
    ticket_id, seen = conversation
    login(client, admin.email)
    send(client, ticket_id, seen, body="Ada answered first.")
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(client, agent.email)
    response = send(client, ticket_id, seen, body="Alex's draft answer")
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    conflict = re.search(r'id="reply-conflict".*?</div>', html, re.S).group(0)
    assert "Ada answered first." in conflict
    assert "Alex&#39;s draft answer</textarea>" in html
    [first] = replies(session, ticket_id)
    assert re.search(rf'name="seen_message_id" type="hidden" value="{first.id}"', html)
    assert "Send anyway" in html
    assert len(queued_jobs(redis_conn)) == 1


def test_sending_anyway_after_the_conflict_sends(client, session, agent, admin, conversation):
    ticket_id, seen = conversation
    login(client, admin.email)
    send(client, ticket_id, seen, body="Ada answered first.")
    first = replies(session, ticket_id)[0]
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(client, agent.email)
    assert send(client, ticket_id, first.id, body="And one more detail.").status_code == 302
    assert [r.body_reply for r in replies(session, ticket_id)] == [
        "Ada answered first.",
        "And one more detail.",
    ]


def test_customer_mail_arriving_while_writing_refuses_the_reply(
    agent_client, session, conversation
):
    ticket_id, seen = conversation
    ingest(
        session,
        mail(
            "Actually, it just arrived!",
            message_id="<m2@example.com>",
            headers={"In-Reply-To": "<m1@example.com>"},
        ),
    )
    response = send(agent_client, ticket_id, seen)
    assert response.status_code == 409
    assert "Actually, it just arrived!" in response.get_data(as_text=True)
    assert replies(session, ticket_id) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"body": "  "}, "Write the reply first."),
        ({"cc": "nobody"}, "is not an email address"),
        ({"status": "finished"}, "is not a ticket status"),
        ({"seen_message_id": "12abc"}, "must be a number"),
    ],
)
def test_bad_reply_is_refused_with_a_message_and_nothing_written(
    agent_client, session, redis_conn, conversation, fields, message
):
    ticket_id, seen = conversation
    data = {"body": "Fine", "cc": "", "status": "waiting", "seen_message_id": str(seen)} | fields
    response = post_form(agent_client, f"/tickets/{ticket_id}/replies", data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert replies(session, ticket_id) == []
    assert queued_jobs(redis_conn) == []


def test_seen_id_of_another_ticket_is_refused(agent_client, session, conversation):
    ticket_id, _seen = conversation
    other = ingest(session, mail(sender="lee@example.com", message_id="<x@example.com>"))
    response = send(agent_client, ticket_id, other.message_id)
    assert response.status_code == 400
    assert replies(session, ticket_id) == []


def test_reply_to_unknown_ticket_is_404(agent_client):
    assert send(agent_client, 999999, 1).status_code == 404


def test_uploaded_attachments_go_with_the_reply(agent_client, session, conversation):
    ticket_id, seen = conversation
    data = {
        "csrf_token": csrf_token(agent_client),
        "body": "Quote attached.",
        "cc": "",
        "status": "waiting",
        "seen_message_id": str(seen),
        "attachments": [
            (io.BytesIO(b"%PDF-1.4 quote"), "견적서.pdf", "application/pdf"),
            (io.BytesIO(b"a,b\n1,2\n"), "numbers.csv", "text/csv"),
        ],
    }
    response = agent_client.post(
        f"/tickets/{ticket_id}/replies", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    [reply] = replies(session, ticket_id)
    names = session.scalars(
        select(Attachment.filename).where(Attachment.message_id == reply.id).order_by(Attachment.id)
    ).all()
    session.commit()
    assert names == ["견적서.pdf", "numbers.csv"]


def test_a_program_uploaded_with_a_reply_is_refused(agent_client, session, conversation):
    ticket_id, seen = conversation
    data = {
        "csrf_token": csrf_token(agent_client),
        "body": "Tool attached.",
        "cc": "",
        "status": "waiting",
        "seen_message_id": str(seen),
        "attachments": [(io.BytesIO(b"MZ\x90\x00"), "setup.exe", "application/octet-stream")],
    }
    response = agent_client.post(
        f"/tickets/{ticket_id}/replies", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert "setup.exe is a program" in response.get_data(as_text=True)
    assert replies(session, ticket_id) == []


def test_reply_to_a_merged_ticket_is_refused(agent_client, session, conversation):
    ticket_id, seen = conversation
    survivor = make_ticket(session, customer_email="minji@example.com")
    ticket = session.get(Ticket, ticket_id)
    ticket.merged_into_id = survivor.id
    session.commit()
    response = send(agent_client, ticket_id, seen)
    assert response.status_code == 409
    assert f"was merged into #{survivor.id}" in response.get_data(as_text=True)
    assert replies(session, ticket_id) == []


def test_retry_button_queues_a_failed_reply_again(agent_client, session, redis_conn, agent):
    ticket = make_ticket(session)
    failed = make_message(
        session,
        ticket,
        kind=MessageKind.reply,
        send_status=SendStatus.failed,
        send_error="SMTPRecipientsRefused: 550",
        message_id="helpdesk.t1.abc.0123456789@helpdesk.test",
        author_id=agent.id,
    )
    response = post_form(agent_client, f"/tickets/{ticket.id}/messages/{failed.id}/retry")
    assert response.status_code == 302
    assert replies(session, ticket.id)[0].send_status == SendStatus.queued
    assert queued_jobs(redis_conn) == [("helpdesk.tickets.jobs.send_ticket_message", (failed.id,))]


def test_retry_of_a_sent_reply_is_refused(agent_client, session, redis_conn, agent):
    ticket = make_ticket(session)
    sent = make_message(
        session, ticket, kind=MessageKind.reply, send_status=SendStatus.sent, author_id=agent.id
    )
    response = post_form(agent_client, f"/tickets/{ticket.id}/messages/{sent.id}/retry")
    assert response.status_code == 400
    assert queued_jobs(redis_conn) == []


def test_reply_is_kept_as_failed_when_the_mail_queue_is_down(config, session, agent, conversation):
    ticket_id, seen = conversation
    app = create_app(config.with_overrides(redis_url="redis://127.0.0.1:1/0"))
    client = app.test_client()
    login(client, agent.email)
    response = send(client, ticket_id, seen)
    assert response.status_code == 302
    [reply] = replies(session, ticket_id)
    assert reply.send_status == SendStatus.failed
    assert "mail queue unreachable" in reply.send_error
    page = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    assert f"/messages/{reply.id}/retry" in page


def test_reply_then_resolved_status_is_applied(agent_client, session, conversation):
    ticket_id, seen = conversation
    send(agent_client, ticket_id, seen, status="resolved")
    status = session.scalar(select(Ticket.status).where(Ticket.id == ticket_id))
    session.commit()
    assert status == TicketStatus.resolved
