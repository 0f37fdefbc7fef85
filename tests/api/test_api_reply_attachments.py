"""Attachments on replies sent through the API, over real HTTP: they go out on the mail
as the ticket page's do, within the page's limits, and programs are refused with the
field that gave them away; a refused reply changes nothing."""

from __future__ import annotations

import base64
import io

import pytest
from rq import Queue
from sqlalchemy import func, select

from helpdesk.queue import MAIL_QUEUE
from helpdesk.tickets import replies
from helpdesk.tickets.jobs import send_ticket_message
from helpdesk.tickets.models import Attachment, Message
from tests.api.conftest import bearer
from tests.factories import make_api_token, make_mailbox, make_message, make_ticket
from tests.helpers import csrf_token

PDF = b"%PDF-1.4 quote"


@pytest.fixture
def agent_token(session, agent):
    return bearer(make_api_token(session, agent, scopes=["tickets:read", "tickets:write"]))


@pytest.fixture
def conversation(session):
    """A ticket with the customer's first mail; (ticket, that message)."""
    make_mailbox(session)
    ticket = make_ticket(session, subject="Quote please")
    first = make_message(session, ticket, body_text="Send a quote?", from_email="c@example.com")
    return ticket, first


def _file(name, content=PDF, content_type="application/pdf"):
    encoded = base64.b64encode(content).decode()
    return {"filename": name, "content_type": content_type, "content": encoded}


def _reply(api, auth, ticket, seen, attachments):
    return api.post(
        f"/tickets/{ticket.id}/replies",
        headers=auth,
        json={"body": "Quote attached.", "seen_message_id": seen.id, "attachments": attachments},
    )


def _stored(session, model) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def _attachment_parts(message):
    return [
        (
            part.get_filename(),
            part.get_content_type(),
            part.get_content_disposition(),
            part.get_payload(decode=True),
        )
        for part in message.iter_attachments()
    ]


def test_an_attachment_goes_out_with_the_mail(
    api, session, conversation, agent_token, redis_conn, smtp_sink, smtp_handler
):
    ticket, first = conversation

    response = _reply(api, agent_token, ticket, first, [_file("견적서.pdf")])

    assert response.status_code == 201
    [attachment] = response.json()["attachments"]
    assert (attachment["filename"], attachment["size"]) == ("견적서.pdf", len(PDF))
    send_ticket_message(response.json()["id"], smtp_url=smtp_sink.url)
    [sent] = smtp_handler.received
    assert _attachment_parts(sent.message) == [("견적서.pdf", "application/pdf", "attachment", PDF)]


def test_an_api_attachment_is_mailed_exactly_as_one_from_the_ticket_page(
    api, session, conversation, agent_client, agent_token, redis_conn, smtp_sink, smtp_handler
):
    ticket, first = conversation
    page = agent_client.post(
        f"/tickets/{ticket.id}/replies",
        data={
            "csrf_token": csrf_token(agent_client),
            "body": "Quote attached.",
            "cc": "",
            "status": "waiting",
            "seen_message_id": str(first.id),
            "attachments": [(io.BytesIO(PDF), "견적서.pdf", "application/pdf")],
        },
        content_type="multipart/form-data",
    )
    assert page.status_code == 302
    session.rollback()
    from_page = session.scalar(select(func.max(Message.id)))

    response = api.post(
        f"/tickets/{ticket.id}/replies",
        headers=agent_token,
        json={
            "body": "Quote attached.",
            "seen_message_id": from_page,
            "attachments": [_file("견적서.pdf")],
        },
    )

    send_ticket_message(from_page, smtp_url=smtp_sink.url)
    send_ticket_message(response.json()["id"], smtp_url=smtp_sink.url)
    by_page, by_api = (_attachment_parts(r.message) for r in smtp_handler.received)
    assert by_api == by_page


def test_a_missing_content_type_is_guessed_from_the_name(api, session, conversation, agent_token):
    ticket, first = conversation
    upload = {"filename": "photo.png", "content": base64.b64encode(b"\x89PNG").decode()}

    response = _reply(api, agent_token, ticket, first, [upload])

    assert response.json()["attachments"][0]["content_type"] == "image/png"


@pytest.mark.parametrize(
    ("upload", "field"),
    [
        (_file("setup.exe"), "attachments[1].filename"),
        (_file("Invoice.PDF.js"), "attachments[1].filename"),
        (_file("tool", content_type="application/x-msdownload"), "attachments[1].content_type"),
        (_file("invoice.pdf", content=b"MZ\x90\x00\x03"), "attachments[1].content"),
        (_file("invoice.pdf", content=b"\x7fELF\x02\x01"), "attachments[1].content"),
    ],
)
def test_a_program_is_refused_naming_the_field_and_nothing_is_sent(
    api, session, conversation, agent_token, redis_conn, upload, field
):
    ticket, first = conversation

    response = _reply(api, agent_token, ticket, first, [_file("quote.pdf"), upload])

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert _stored(session, Message) == 1
    assert _stored(session, Attachment) == 0
    assert Queue(MAIL_QUEUE, connection=redis_conn).get_jobs() == []


def test_more_attachments_than_the_page_allows_are_refused(api, session, conversation, agent_token):
    ticket, first = conversation
    files = [_file(f"part{n}.pdf") for n in range(replies.MAX_ATTACHMENTS + 1)]

    response = _reply(api, agent_token, ticket, first, files)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["attachments"]
    assert _stored(session, Message) == 1


def test_attachments_adding_up_to_more_than_the_page_allows_are_refused(
    api, session, conversation, agent_token
):
    ticket, first = conversation
    half = b"x" * (replies.MAX_ATTACHMENT_BYTES // 2 + 1)

    response = _reply(api, agent_token, ticket, first, [_file("a.pdf", half), _file("b.pdf", half)])

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["attachments"]
    assert _stored(session, Attachment) == 0


@pytest.mark.parametrize(
    ("upload", "field"),
    [
        ({"filename": "a.pdf", "content": "not base64!"}, "attachments[0].content"),
        ({"filename": "a.pdf", "content": 12}, "attachments[0].content"),
        ({"filename": "", "content": "UERG"}, "attachments[0].filename"),
        ({"content": "UERG"}, "attachments[0].filename"),
        ({"filename": "a.pdf", "content": ""}, "attachments"),
    ],
)
def test_an_unreadable_attachment_is_refused_naming_the_field(
    api, session, conversation, agent_token, upload, field
):
    ticket, first = conversation

    response = _reply(api, agent_token, ticket, first, [upload])

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert _stored(session, Message) == 1
