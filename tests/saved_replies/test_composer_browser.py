"""In Chromium, in English and in Korean: an agent inserts a saved reply into the reply
with the picker and with the / and # shortcuts (in the rich editor and, without it, in
the plain textarea), the placeholders come back rendered for the
ticket, the reply reaches a real SMTP server with the signature (in the customer's
language), and the use is counted."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from rq import Queue, SimpleWorker

from helpdesk.auth.models import User
from helpdesk.mail.models import Mailbox
from helpdesk.queue import MAIL_QUEUE
from helpdesk.saved_replies.models import SavedReply
from helpdesk.tickets.models import Ticket
from tests.factories import make_mailbox, make_saved_reply, set_customer_language
from tests.helpers import browser_login
from tests.tickets.mails import ingest, mail

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

# Per interface language: the browser's locale, the picker button's label, what the
# agent searches for, the saved reply and the text it renders to on ticket #{id}.
LANGUAGES = {
    "en": {
        "locale": "en-US",
        "button": "Saved replies",
        "search": "ship",
        "title": "Shipping today",
        "body": (
            "Hello {{ customer_first_name }}, your order on ticket #{{ ticket_number }} "
            "({{ ticket_subject }}) ships today. {{ agent_name }}"
        ),
        "rendered": "Hello 민지, your order on ticket #{id} (배송 문의) ships today. Alex Agent",
    },
    "ko": {
        "locale": "ko-KR",
        "button": "저장된 답장",
        "search": "발송",
        "title": "오늘 발송",
        "body": (
            "{{ customer_name }} 고객님, 문의하신 #{{ ticket_number }} "
            "({{ ticket_subject }}) 주문은 오늘 발송됩니다. "
            "{{ mailbox_name }} {{ agent_name }} 드림"
        ),
        "rendered": (
            "김민지 고객님, 문의하신 #{id} (배송 문의) 주문은 오늘 발송됩니다. 한빛 Alex Agent 드림"
        ),
    },
}
SIGNATURE = "-- \nAlex Agent · 알렉스\n한빛 고객지원팀"


@pytest.fixture
def workspace(session, agent):
    """A Korean customer's ticket in a signed mailbox, and an agent with a signature."""
    mailbox = make_mailbox(
        session,
        name="한빛",
        address="help@hanbit.test",
        signature="{{ agent_signature }}\n한빛 고객지원팀",
    )
    result = ingest(
        session,
        mail("주문한 책이 언제 오나요?", subject="배송 문의", sender="김민지 <minji@example.com>"),
        mailbox=mailbox,
    )
    session.get(User, agent.id).signature = "Alex Agent · 알렉스"
    session.commit()
    return result.ticket_id


def _open_ticket(
    browser, live_server, session, agent, language: str, ticket_id: int, *, rich: bool = True
):
    session.get(User, agent.id).language = language
    session.commit()
    context = browser.new_context(base_url=live_server, locale=LANGUAGES[language]["locale"])
    if not rich:
        # Without the editor's script the composer stays the plain textarea.
        context.route("**/vendor/trix/**", lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(15_000)
    browser_login(page, agent.email)
    page.wait_for_load_state()
    page.goto(f"/tickets/{ticket_id}")
    return context, page


def _send_and_receive(page, redis_conn, smtp_relay, ticket_id: int) -> str:
    page.click("#send-reply")
    page.wait_for_url(re.compile(rf"/tickets/{ticket_id}#message-\d+"))
    worker = SimpleWorker([Queue(MAIL_QUEUE, connection=redis_conn)], connection=redis_conn)
    assert worker.work(burst=True)
    [delivered] = smtp_relay.received
    return delivered.message.get_body(("plain",)).get_content()


def _use_count(session, reply_id: int) -> int:
    session.expire_all()
    count = session.get(SavedReply, reply_id).used_in_replies
    session.commit()
    return count


@pytest.mark.parametrize("language", ["en", "ko"])
def test_saved_reply_chosen_in_the_picker_is_sent_rendered_and_signed(
    browser, live_server, session, agent, workspace, redis_conn, smtp_relay, language
):
    text = LANGUAGES[language]
    reply = make_saved_reply(session, title=text["title"], folder="배송", body=text["body"])
    make_saved_reply(session, title="Unrelated", body="Nothing to do with it.")
    context, page = _open_ticket(browser, live_server, session, agent, language, workspace)
    rendered = text["rendered"].format(id=workspace)

    expect(page.locator("#saved-replies-button")).to_have_text(text["button"])
    expect(page.locator("#signature-preview pre")).to_have_text(SIGNATURE)
    page.click("#saved-replies-button")
    page.fill("#saved-reply-search", text["search"])
    expect(page.locator(".saved-reply-item")).to_have_count(1)
    page.click(f".saved-reply-item:has-text('{text['title']}')")
    expect(page.locator("#reply-body")).to_have_value(rendered)
    body = _send_and_receive(page, redis_conn, smtp_relay, workspace)

    assert body.startswith(f"{rendered}\n\n{SIGNATURE}\n")
    assert _use_count(session, reply.id) == 1
    page.goto("/saved-replies")
    expect(page.locator(f"#saved-reply-{reply.id} .used-count")).to_have_text("1")
    context.close()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_slash_at_the_start_of_the_reply_opens_the_picker_filtered_by_what_follows(
    browser, live_server, session, agent, workspace, redis_conn, smtp_relay, language
):
    text = LANGUAGES[language]
    reply = make_saved_reply(session, title=text["title"], body=text["body"])
    make_saved_reply(session, title="Unrelated", body="Nothing to do with it.")
    context, page = _open_ticket(browser, live_server, session, agent, language, workspace)
    rendered = text["rendered"].format(id=workspace)

    page.click("#reply-editor")
    page.keyboard.type(f"/{text['search']}")
    expect(page.locator("#saved-reply-panel")).to_be_visible()
    expect(page.locator(".saved-reply-item")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator("#reply-body")).to_have_value(rendered)
    expect(page.locator("#saved-reply-panel")).to_be_hidden()
    body = _send_and_receive(page, redis_conn, smtp_relay, workspace)

    assert body.startswith(f"{rendered}\n\n{SIGNATURE}\n")
    assert _use_count(session, reply.id) == 1
    context.close()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_hash_at_the_start_of_the_rich_reply_opens_the_picker_like_the_slash(
    browser, live_server, session, agent, workspace, language
):
    text = LANGUAGES[language]
    reply = make_saved_reply(session, title=text["title"], body=text["body"])
    make_saved_reply(session, title="Unrelated", body="Nothing to do with it.")
    context, page = _open_ticket(browser, live_server, session, agent, language, workspace)

    page.click("#reply-editor")
    page.keyboard.type(f"#{text['search']}")
    expect(page.locator("#saved-reply-panel")).to_be_visible()
    expect(page.locator(".saved-reply-item")).to_have_count(1)
    page.keyboard.press("Enter")

    expect(page.locator("#reply-body")).to_have_value(text["rendered"].format(id=workspace))
    expect(page.locator("#saved-reply-panel")).to_be_hidden()
    assert _use_count(session, reply.id) == 1
    context.close()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_hash_at_the_start_of_the_plain_textarea_opens_the_picker(
    browser, live_server, session, agent, workspace, language
):
    text = LANGUAGES[language]
    make_saved_reply(session, title=text["title"], body=text["body"])
    make_saved_reply(session, title="Unrelated", body="Nothing to do with it.")
    context, page = _open_ticket(
        browser, live_server, session, agent, language, workspace, rich=False
    )

    expect(page.locator("#reply-body")).to_be_visible()
    page.click("#reply-body")
    page.keyboard.type(f"#{text['search']}")
    expect(page.locator(".saved-reply-item")).to_have_count(1)
    page.keyboard.press("Enter")

    expect(page.locator("#reply-body")).to_have_value(text["rendered"].format(id=workspace))
    expect(page.locator("#reply-editor")).to_have_count(0)
    context.close()


def test_hash_later_in_the_reply_stays_text(browser, live_server, session, agent, workspace):
    make_saved_reply(session, title="Order", body="Your order ships today.")
    context, page = _open_ticket(browser, live_server, session, agent, "en", workspace)

    page.click("#reply-editor")
    page.keyboard.type("About order #Order")

    expect(page.locator("#reply-body")).to_have_value("About order #Order")
    expect(page.locator("#saved-reply-panel")).to_be_hidden()
    context.close()


@pytest.mark.parametrize(
    ("language", "label"),
    [("en", "Your signature in 한국어"), ("ko", "답장을 보낼 때 붙는 서명(한국어)")],
)
def test_korean_customer_gets_the_korean_signature_the_composer_shows(
    browser, live_server, session, agent, workspace, redis_conn, smtp_relay, language, label
):
    ticket = session.get(Ticket, workspace)
    session.get(Mailbox, ticket.mailbox_id).signature_ko = "{{ agent_signature }}\n한빛 드림"
    session.get(User, agent.id).signature_ko = "알렉스"
    session.commit()
    set_customer_language(session, ticket.customer_id, "ko")
    context, page = _open_ticket(browser, live_server, session, agent, language, workspace)

    expect(page.locator("#signature-preview .hint")).to_contain_text(label)
    expect(page.locator("#signature-preview pre")).to_have_text("-- \n알렉스\n한빛 드림")
    page.click("#reply-editor")
    page.keyboard.type("곧 보내 드리겠습니다.")
    body = _send_and_receive(page, redis_conn, smtp_relay, workspace)

    assert body.startswith("곧 보내 드리겠습니다.\n\n-- \n알렉스\n한빛 드림\n")
    context.close()
