"""A formatted reply: the editor's HTML is sanitized by the inbound mail rules, the text
part is written from it, and the mail goes out as multipart/alternative."""

from __future__ import annotations

import pytest

from helpdesk.tickets import replies, service
from helpdesk.tickets.jobs import build_ticket_email
from helpdesk.tickets.models import Message
from tests.factories import make_mailbox
from tests.tickets.mails import SETTINGS, ingest, mail

MAIL = replies.MailSettings(secret_key=SETTINGS.secret_key, domain="helpdesk.test")
FORMATTED = (
    "<div>Hello <strong>Minji</strong>, <em>good news</em>:<br><br></div>"
    "<ul><li>the parcel left today</li><li>it arrives tomorrow</li></ul>"
    "<ol><li>open the box</li><li>check the receipt</li></ol>"
    '<div>Track it on <a href="https://courier.test/track?id=7">the courier\'s page</a>.</div>'
    "<blockquote>Where is my order?</blockquote>"
)
FORMATTED_TEXT = (
    "Hello Minji, good news:\n"
    "\n"
    "- the parcel left today\n"
    "- it arrives tomorrow\n"
    "\n"
    "1. open the box\n"
    "2. check the receipt\n"
    "\n"
    "Track it on the courier's page <https://courier.test/track?id=7>.\n"
    "> Where is my order?"
)


@pytest.fixture
def conversation(session):
    mailbox = make_mailbox(
        session, name="Hanbit Support", address="help@hanbit.test", signature="Hanbit team"
    )
    result = ingest(session, mail(subject="Order 1001 missing"), mailbox=mailbox)
    return result.ticket_id, result.message_id


def rich_reply(session, agent, conversation, html, body="typed text") -> Message:
    ticket_id, seen = conversation
    message = replies.send_reply(
        session, ticket_id, agent.id, body, "", [], seen, None, mail=MAIL, body_html=html
    )
    session.commit()
    return message


def test_text_part_is_written_from_the_html_with_lists_links_and_quotes(
    session, agent, conversation
):
    message = rich_reply(session, agent, conversation, FORMATTED)
    assert message.body_reply == FORMATTED_TEXT
    assert message.body_text.startswith(f"{FORMATTED_TEXT}\n\n-- \nHanbit team\n\n[ref:T")


def test_stored_html_keeps_the_formatting_signature_and_marker(session, agent, conversation):
    message = rich_reply(session, agent, conversation, FORMATTED)
    html = message.body_html_safe
    assert "<strong>Minji</strong>" in html
    assert "<ul><li>the parcel left today</li>" in html
    assert "<blockquote>Where is my order?</blockquote>" in html
    assert 'href="https://courier.test/track?id=7"' in html
    assert "-- <br>Hanbit team" in html
    assert f"[ref:T{conversation[0]}-" in html


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)">click</a>',
        '<div onclick="alert(1)" onmouseover="alert(2)">click</div>',
        '<a href="JaVaScRiPt:alert(1)">click</a>',
        '<iframe src="https://evil.test"></iframe>',
    ],
)
def test_scripts_event_handlers_and_javascript_urls_are_removed(
    session, agent, conversation, hostile
):
    message = rich_reply(session, agent, conversation, f"<div>Hi there {hostile}</div>")
    html = message.body_html_safe.lower()
    for dangerous in ("<script", "alert(", "onerror", "onclick", "onmouseover", "javascript:"):
        assert dangerous not in html
    assert "<iframe" not in html
    assert message.body_reply.startswith("Hi there")


def test_sent_mail_is_multipart_alternative_with_both_parts(session, agent, conversation):
    message = rich_reply(session, agent, conversation, FORMATTED)
    email = build_ticket_email(session, message.id)
    assert email.get_content_type() == "multipart/alternative"
    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    assert text.startswith(FORMATTED_TEXT)
    assert "<strong>Minji</strong>" in html
    assert "<li>it arrives tomorrow</li>" in html


def test_reply_without_html_stays_text_only(session, agent, conversation):
    message = rich_reply(session, agent, conversation, "", body="Plain and simple.")
    assert message.body_html_safe is None
    email = build_ticket_email(session, message.id)
    assert email.get_content_type() == "text/plain"
    assert email.get_content().startswith("Plain and simple.")


def test_html_with_no_words_is_refused_like_an_empty_reply(session, agent, conversation):
    with pytest.raises(service.InvalidInput):
        rich_reply(session, agent, conversation, "<div><br></div><ul><li></li></ul>")
    session.rollback()
    assert replies.latest_message_id(session, conversation[0]) == conversation[1]


def test_oversized_html_is_refused(session, agent, conversation):
    huge = "<div>" + "a" * (replies.MAX_HTML + 1) + "</div>"
    with pytest.raises(service.InvalidInput):
        rich_reply(session, agent, conversation, huge)


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def test_pasted_image_is_sent_inline_by_cid_in_multipart_related(session, agent, conversation):
    ticket_id, seen = conversation
    html = '<div>See the label:<br><img src="cid:image-1-ab12@inline" alt="label"></div>'
    message = replies.send_reply(
        session,
        ticket_id,
        agent.id,
        "",
        "",
        [],
        seen,
        None,
        mail=MAIL,
        body_html=html,
        inline_images=[replies.Upload("image-1-ab12@inline", "image/png", PNG)],
    )
    session.commit()
    email = build_ticket_email(session, message.id)
    related = email.get_body(("related",))
    assert related.get_content_type() == "multipart/related"
    [image] = [part for part in related.iter_parts() if part["Content-ID"]]
    assert image["Content-ID"] == "<image-1-ab12@inline>"
    assert image.get_content() == PNG
    assert 'src="cid:image-1-ab12@inline"' in email.get_body(("html",)).get_content()
    assert list(email.iter_attachments()) == []


def test_pasted_image_no_longer_in_the_html_is_left_out(session, agent, conversation):
    ticket_id, seen = conversation
    message = replies.send_reply(
        session,
        ticket_id,
        agent.id,
        "",
        "",
        [],
        seen,
        None,
        mail=MAIL,
        body_html="<div>The image was deleted again.</div>",
        inline_images=[replies.Upload("image-1-ab12@inline", "image/png", PNG)],
    )
    session.commit()
    assert message.attachments == []


@pytest.mark.parametrize(
    "upload",
    [
        replies.Upload("image-1-ab12@inline", "text/html", b"<script>alert(1)</script>"),
        replies.Upload("../../etc/passwd", "image/png", PNG),
    ],
)
def test_inline_upload_that_is_no_pasted_image_is_refused(session, agent, conversation, upload):
    ticket_id, seen = conversation
    with pytest.raises(service.InvalidInput):
        replies.send_reply(
            session,
            ticket_id,
            agent.id,
            "",
            "",
            [],
            seen,
            None,
            mail=MAIL,
            body_html='<div>x<img src="cid:image-1-ab12@inline"></div>',
            inline_images=[upload],
        )
    session.rollback()
    assert replies.latest_message_id(session, ticket_id) == seen
