"""In Chromium, in English and in Korean: an agent writes bold text and a list in the
reply editor, sends, and the mail a real SMTP server receives carries that formatting in
its HTML part and reads the same in its text part."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from rq import Queue, SimpleWorker

from helpdesk.auth.models import User
from helpdesk.queue import MAIL_QUEUE
from tests.factories import make_mailbox
from tests.helpers import browser_login
from tests.tickets.mails import ingest, mail

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

LANGUAGES = {
    "en": {
        "locale": "en-US",
        "bold": "Bold",
        "bullets": "Bullets",
        "words": ("Good news", "your parcel", "left today", "arrives tomorrow"),
    },
    "ko": {
        "locale": "ko-KR",
        "bold": "굵게",
        "bullets": "글머리 기호",
        "words": ("좋은 소식", "주문하신 책이", "오늘 발송되었고", "내일 도착합니다"),
    },
}


@pytest.fixture
def ticket_id(session, agent):
    mailbox = make_mailbox(session, name="한빛", address="help@hanbit.test")
    result = ingest(
        session,
        mail("주문한 책이 언제 오나요?", subject="배송 문의", sender="김민지 <minji@example.com>"),
        mailbox=mailbox,
    )
    return result.ticket_id


@pytest.mark.parametrize("language", ["en", "ko"])
def test_bold_text_and_a_list_reach_the_customer_formatted_with_a_readable_text_part(
    browser, live_server, session, agent, ticket_id, redis_conn, smtp_relay, language
):
    text = LANGUAGES[language]
    bold, plain, first, second = text["words"]
    session.get(User, agent.id).language = language
    session.commit()
    context = browser.new_context(base_url=live_server, locale=text["locale"])
    page = context.new_page()
    page.set_default_timeout(15_000)
    browser_login(page, agent.email)
    page.goto(f"/tickets/{ticket_id}")

    editor = page.locator("trix-editor#reply-editor")
    expect(page.locator("#reply-body")).to_be_hidden()
    editor.click()
    page.click(f"#reply-form trix-toolbar button[title='{text['bold']}']")
    page.keyboard.type(bold)
    page.click(f"#reply-form trix-toolbar button[title='{text['bold']}']")
    page.keyboard.type(f", {plain}")
    page.keyboard.press("Enter")
    page.click(f"#reply-form trix-toolbar button[title='{text['bullets']}']")
    page.keyboard.type(first)
    page.keyboard.press("Enter")
    page.keyboard.type(second)
    page.click("#send-reply")
    page.wait_for_url(re.compile(rf"/tickets/{ticket_id}#message-\d+"))
    worker = SimpleWorker([Queue(MAIL_QUEUE, connection=redis_conn)], connection=redis_conn)
    assert worker.work(burst=True)
    [delivered] = smtp_relay.received
    context.close()

    email = delivered.message
    assert email.get_content_type() == "multipart/alternative"
    html = email.get_body(("html",)).get_content()
    assert f"<strong>{bold}</strong>" in html
    assert f"<ul><li>{first}</li><li>{second}</li></ul>" in html
    plain_part = email.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain_part.startswith(f"{bold}, {plain}\n- {first}\n- {second}\n")


DROP_FILE = """(selector) => {
    const files = new DataTransfer();
    files.items.add(new File(["Tracking number 7"], "tracking.txt", { type: "text/plain" }));
    const target = document.querySelector(selector);
    for (const type of ["dragover", "drop"]) {
        target.dispatchEvent(
            new DragEvent(type, { dataTransfer: files, bubbles: true, cancelable: true })
        );
    }
}"""


@pytest.mark.parametrize("language", ["en", "ko"])
def test_file_dropped_on_the_composer_is_sent_as_an_attachment(
    browser, live_server, session, agent, ticket_id, redis_conn, smtp_relay, language
):
    session.get(User, agent.id).language = language
    session.commit()
    context = browser.new_context(base_url=live_server, locale=LANGUAGES[language]["locale"])
    page = context.new_page()
    page.set_default_timeout(15_000)
    browser_login(page, agent.email)
    page.goto(f"/tickets/{ticket_id}")

    page.locator("#reply-editor").click()
    page.keyboard.type(LANGUAGES[language]["words"][0])
    page.evaluate(DROP_FILE, "#reply-form .to")
    assert page.evaluate("document.querySelector('#reply-form input[type=file]').files.length") == 1
    page.click("#send-reply")
    page.wait_for_url(re.compile(rf"/tickets/{ticket_id}#message-\d+"))
    worker = SimpleWorker([Queue(MAIL_QUEUE, connection=redis_conn)], connection=redis_conn)
    assert worker.work(burst=True)
    [delivered] = smtp_relay.received
    context.close()

    [attachment] = delivered.message.iter_attachments()
    assert attachment.get_filename() == "tracking.txt"
    assert attachment.get_content() == "Tracking number 7"


# A 1x1 PNG, pasted as a file the way a screenshot is.
PASTE_IMAGE = """(bytes) => {
    const clipboard = new DataTransfer();
    const image = new File([new Uint8Array(bytes)], "screenshot.png", { type: "image/png" });
    clipboard.items.add(image);
    document.querySelector("#reply-editor").dispatchEvent(
        new ClipboardEvent("paste", { clipboardData: clipboard, bubbles: true, cancelable: true })
    );
}"""
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_image_pasted_into_the_editor_is_sent_inline_by_cid(
    browser, live_server, session, agent, ticket_id, redis_conn, smtp_relay, language
):
    session.get(User, agent.id).language = language
    session.commit()
    context = browser.new_context(base_url=live_server, locale=LANGUAGES[language]["locale"])
    page = context.new_page()
    page.set_default_timeout(15_000)
    browser_login(page, agent.email)
    page.goto(f"/tickets/{ticket_id}")

    page.locator("#reply-editor").click()
    page.keyboard.type(LANGUAGES[language]["words"][0])
    page.evaluate(PASTE_IMAGE, list(PNG))
    expect(page.locator("#reply-editor figure img")).to_have_count(1)
    page.click("#send-reply")
    page.wait_for_url(re.compile(rf"/tickets/{ticket_id}#message-\d+"))
    worker = SimpleWorker([Queue(MAIL_QUEUE, connection=redis_conn)], connection=redis_conn)
    assert worker.work(burst=True)
    [delivered] = smtp_relay.received
    context.close()

    email = delivered.message
    related = email.get_body(("related",))
    [image] = [part for part in related.iter_parts() if part["Content-ID"]]
    content_id = image["Content-ID"].strip("<>")
    assert image.get_content() == PNG
    assert f'src="cid:{content_id}"' in email.get_body(("html",)).get_content()
    assert "screenshot.png" not in email.get_body(("html",)).get_content()
