"""The reply form with and without the rich editor: the no-JavaScript textarea still sends
plain text, the editor's HTML field makes a formatted mail, and the ticket page shows it."""

from __future__ import annotations

import html as html_lib
import io

import pytest
from sqlalchemy import select

from helpdesk.tickets.jobs import build_ticket_email
from helpdesk.tickets.models import Message, MessageKind, Ticket
from tests.factories import make_mailbox, make_message
from tests.helpers import csrf_token, post_form
from tests.tickets.mails import ingest, mail


@pytest.fixture
def conversation(session):
    mailbox = make_mailbox(session)
    result = ingest(session, mail(subject="Order 1001 missing"), mailbox=mailbox)
    return result.ticket_id, result.message_id


def send(client, ticket_id, seen, **fields):
    data = {"body": "", "cc": "", "status": "waiting", "seen_message_id": str(seen)} | fields
    return post_form(client, f"/tickets/{ticket_id}/replies", data)


def replies(session, ticket_id) -> list[Message]:
    rows = session.scalars(
        select(Message)
        .where(Message.ticket_id == ticket_id, Message.kind == MessageKind.reply)
        .execution_options(populate_existing=True)
    ).all()
    session.commit()
    return rows


def test_composer_renders_the_textarea_and_the_empty_html_field(agent_client, conversation):
    page = agent_client.get(f"/tickets/{conversation[0]}").get_data(as_text=True)
    assert '<textarea id="reply-body" name="body"' in page
    assert 'id="reply-body-html" name="body_html" type="hidden" value=""' in page
    assert "vendor/trix/trix.umd.min.js" in page


def test_reply_without_javascript_is_sent_as_plain_text(agent_client, session, conversation):
    ticket_id, seen = conversation
    response = send(agent_client, ticket_id, seen, body="Plain *words* <b>as typed</b>")
    assert response.status_code == 302
    [reply] = replies(session, ticket_id)
    assert reply.body_reply == "Plain *words* <b>as typed</b>"
    assert reply.body_html_safe is None
    assert build_ticket_email(session, reply.id).get_content_type() == "text/plain"


def test_reply_from_the_editor_is_sent_formatted(agent_client, session, conversation):
    ticket_id, seen = conversation
    html = "<div>Hello <strong>Minji</strong></div><ul><li>one</li><li>two</li></ul>"
    response = send(agent_client, ticket_id, seen, body="ignored", body_html=html)
    assert response.status_code == 302
    [reply] = replies(session, ticket_id)
    assert reply.body_reply == "Hello Minji\n- one\n- two"
    email = build_ticket_email(session, reply.id)
    assert email.get_content_type() == "multipart/alternative"
    assert "<strong>Minji</strong>" in email.get_body(("html",)).get_content()


def test_ticket_page_shows_the_sent_formatting_in_the_mail_frame(
    agent_client, session, conversation
):
    ticket_id, seen = conversation
    html = '<div>Hello <strong>Minji</strong><script>alert("x")</script></div>'
    send(agent_client, ticket_id, seen, body_html=html)
    [reply] = replies(session, ticket_id)
    page = agent_client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    article = page[page.index(f'id="message-{reply.id}"') :]
    srcdoc = html_lib.unescape(article.split('srcdoc="', 1)[1].split('"', 1)[0])
    assert "<strong>Minji</strong>" in srcdoc
    assert "<script" not in srcdoc


def test_editor_html_without_words_is_refused_and_nothing_written(
    agent_client, session, redis_conn, conversation
):
    ticket_id, seen = conversation
    response = send(agent_client, ticket_id, seen, body="", body_html="<div><br></div>")
    assert response.status_code == 400
    assert "Write the reply first." in response.get_data(as_text=True)
    assert replies(session, ticket_id) == []


def post_with_inline_image(client, ticket_id, seen, filename, content_type):
    data = {
        "csrf_token": csrf_token(client),
        "body": "",
        "body_html": f'<div>Label:<img src="cid:{filename}"></div>',
        "cc": "",
        "status": "waiting",
        "seen_message_id": str(seen),
        "inline_images": [(io.BytesIO(b"\x89PNG image bytes"), filename, content_type)],
    }
    return client.post(
        f"/tickets/{ticket_id}/replies", data=data, content_type="multipart/form-data"
    )


def test_pasted_image_goes_with_the_reply_under_its_content_id(agent_client, session, conversation):
    ticket_id, seen = conversation
    response = post_with_inline_image(
        agent_client, ticket_id, seen, "image-1-ab12@inline", "image/png"
    )
    assert response.status_code == 302
    [reply] = replies(session, ticket_id)
    [image] = reply.attachments
    assert (image.content_id, image.inline, image.filename) == (
        "image-1-ab12@inline",
        True,
        "image-1-ab12.png",
    )


def test_pasted_file_that_is_no_image_is_refused_and_nothing_written(
    agent_client, session, redis_conn, conversation
):
    ticket_id, seen = conversation
    response = post_with_inline_image(
        agent_client, ticket_id, seen, "image-1-ab12@inline", "text/html"
    )
    assert response.status_code == 400
    assert "A pasted image could not be read." in response.get_data(as_text=True)
    assert replies(session, ticket_id) == []


def test_refused_reply_with_a_pasted_image_asks_for_it_again_and_keeps_the_html(
    agent_client, session, conversation
):
    ticket_id, seen = conversation
    # A customer wrote again after the agent opened the ticket.
    make_message(session, session.get(Ticket, ticket_id), body_text="One more thing.")
    session.commit()
    response = post_with_inline_image(
        agent_client, ticket_id, seen, "image-1-ab12@inline", "image/png"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Attach your files again before sending." in page
    assert "cid:image-1-ab12@inline" in html_lib.unescape(page)
    assert replies(session, ticket_id) == []
