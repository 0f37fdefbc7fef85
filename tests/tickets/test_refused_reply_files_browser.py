"""In Chromium, in English and in Korean: a reply with a pasted image and a dropped file
is refused by the double-reply guard (the customer wrote meanwhile); the composer comes
back with the image shown in the text and the file attached, and "Send anyway" mails
both."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from rq import Queue, SimpleWorker

from helpdesk.auth.models import User
from helpdesk.db import database
from helpdesk.queue import MAIL_QUEUE
from tests.factories import make_mailbox
from tests.helpers import browser_login
from tests.tickets.mails import ingest, mail
from tests.tickets.test_rich_reply_browser import DROP_FILE, PASTE_IMAGE, PNG

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

KEPT = {
    "en": ("en-US", "Your pasted images and attachments are kept below."),
    "ko": ("ko-KR", "붙여 넣은 이미지와 첨부 파일이 아래에 그대로 있습니다."),
}


@pytest.fixture
def first_mail(session):
    mailbox = make_mailbox(session, address="help@hanbit.test")
    result = ingest(
        session, mail("Where is my book?", message_id="<q1@example.com>"), mailbox=mailbox
    )
    session.commit()
    return mailbox, result.ticket_id


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_refused_reply_comes_back_with_its_pasted_image_and_file(
    browser, live_server, session, agent, first_mail, redis_conn, smtp_relay, language
):
    locale, kept_text = KEPT[language]
    mailbox, ticket_id = first_mail
    session.get(User, agent.id).language = language
    session.commit()
    context = browser.new_context(base_url=live_server, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    browser_login(page, agent.email)
    page.goto(f"/tickets/{ticket_id}")

    page.locator("#reply-editor").click()
    page.keyboard.type("See the picture")
    page.evaluate(PASTE_IMAGE, list(PNG))
    expect(page.locator("#reply-editor figure img")).to_have_count(1)
    page.evaluate(DROP_FILE, "#reply-form .to")
    with database.session() as writer:
        later = mail(
            "Any news?", message_id="<q2@example.com>", headers={"In-Reply-To": "<q1@example.com>"}
        )
        ingest(writer, later, mailbox=mailbox)
    page.click("#send-reply")

    expect(page.locator("#reply-conflict")).to_be_visible()
    expect(page.locator(".files-kept")).to_have_text(kept_text)
    files = "document.querySelector('#reply-form input[name=attachments]').files"
    assert page.evaluate(f"[...{files}].map((f) => f.name)") == ["tracking.txt"]
    image = page.locator("#reply-editor figure img")
    expect(image).to_have_count(1)
    expect(image).to_have_attribute("src", re.compile(r"^blob:"))
    assert page.evaluate("document.querySelector('#reply-editor figure img').naturalWidth") == 1

    page.click("#send-reply")
    page.wait_for_url(re.compile(rf"/tickets/{ticket_id}#message-\d+"))
    worker = SimpleWorker([Queue(MAIL_QUEUE, connection=redis_conn)], connection=redis_conn)
    assert worker.work(burst=True)
    [delivered] = smtp_relay.received
    context.close()

    email = delivered.message
    related = email.get_body(("related",))
    [inline] = [part for part in related.iter_parts() if part["Content-ID"]]
    assert inline.get_content() == PNG
    assert (
        f'src="cid:{inline["Content-ID"].strip("<>")}"' in email.get_body(("html",)).get_content()
    )
    [attachment] = email.iter_attachments()
    assert attachment.get_filename() == "tracking.txt"
    assert attachment.get_content() == "Tracking number 7"


def test_a_reply_refused_for_a_bad_cc_keeps_its_pasted_image(
    browser, live_server, session, agent, first_mail
):
    _mailbox, ticket_id = first_mail
    context = browser.new_context(base_url=live_server, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    browser_login(page, agent.email)
    page.goto(f"/tickets/{ticket_id}")

    page.locator("#reply-editor").click()
    page.keyboard.type("See the picture")
    page.evaluate(PASTE_IMAGE, list(PNG))
    page.fill("#reply-form input[name=cc]", "not an address")
    page.click("#send-reply")

    expect(page.locator(".files-kept")).to_have_text(KEPT["en"][1])
    image = page.locator("#reply-editor figure img")
    expect(image).to_have_attribute("src", re.compile(r"^blob:"))
    context.close()
