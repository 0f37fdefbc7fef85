"""In a real browser: a customer's new message appears in the open ticket with the draft
kept (the reply guard still asks before sending); a colleague who closes the tab is gone
within 15 s."""

from __future__ import annotations

import pytest

from helpdesk.db import database
from tests.factories import make_mailbox
from tests.tickets.mails import ingest, mail

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
def test_a_new_customer_message_appears_with_the_draft_kept(
    open_as,
    session,
    agent,
    locale,
):
    mailbox = make_mailbox(session)
    asked = mail("Where is my order?", message_id=f"<live1-{locale}@example.com>")
    first = ingest(session, asked, mailbox=mailbox)
    alex = open_as(agent.email, locale=locale)
    alex.goto(f"/tickets/{first.ticket_id}")
    alex.fill("#reply-editor", "Let me check the courier for you.")

    # Its own session, which begins IMMEDIATE like ingest in production: the test's
    # DEFERRED one could not turn from reading to writing while the server writes.
    with database.session() as writer:
        ingest(
            writer,
            mail(
                "주문번호는 1234입니다.",
                message_id=f"<live2-{locale}@example.com>",
                headers={"In-Reply-To": f"<live1-{locale}@example.com>"},
            ),
            mailbox=mailbox,
        )
    alex.locator(".msg.is-new", has_text="주문번호는 1234입니다.").wait_for()
    assert alex.locator("#reply-body").input_value() == "Let me check the courier for you."
    assert alex.locator("#changed-banner").is_hidden()

    # Shown is not read: the reply guard still asks once before sending.
    alex.click("#send-reply")
    alex.locator("#reply-conflict", has_text="주문번호는 1234입니다.").wait_for()
    assert alex.locator("#reply-body").input_value() == "Let me check the courier for you."
    alex.click("#send-reply")
    alex.locator(".flash-success").wait_for()


def test_a_closed_tab_leaves_the_presence_within_fifteen_seconds(
    open_as,
    session,
    agent,
    admin,
):
    mailbox = make_mailbox(session)
    ticket_id = ingest(
        session, mail("Hello", message_id="<p1@example.com>"), mailbox=mailbox
    ).ticket_id
    alex, ada = open_as(agent.email), open_as(admin.email)
    alex.goto(f"/tickets/{ticket_id}")
    ada.goto(f"/tickets/{ticket_id}")
    viewer = alex.locator("#presence").get_by_text("Ada Admin is viewing")
    viewer.wait_for()
    ada.context.close()
    viewer.wait_for(state="detached", timeout=15_000)
