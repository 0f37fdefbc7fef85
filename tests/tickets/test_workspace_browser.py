"""Two agents in two real browser contexts on the same ticket: each sees the other,
the second reply is refused with the first shown, and a merged ticket keeps receiving mail."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_mailbox
from tests.tickets.mails import ingest, mail

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def customer_ticket(session):
    mailbox = make_mailbox(session)
    result = ingest(
        session, mail("My order has not arrived.", message_id="<b1@example.com>"), mailbox=mailbox
    )
    return result.ticket_id


def test_each_agent_sees_the_other_viewing_and_typing(open_as, agent, admin, customer_ticket):
    alex, ada = open_as(agent.email), open_as(admin.email)
    alex.goto(f"/tickets/{customer_ticket}")
    ada.goto(f"/tickets/{customer_ticket}")
    alex.locator("#presence").get_by_text("Ada Admin is viewing").wait_for()
    ada.locator("#presence").get_by_text("Alex Agent is viewing").wait_for()

    ada.fill("#reply-editor", "Let me check the courier")
    alex.locator("#presence").get_by_text("Ada Admin is typing a reply…").wait_for()


def test_second_reply_is_refused_and_shows_the_first(open_as, agent, admin, customer_ticket):
    alex, ada = open_as(agent.email), open_as(admin.email)
    alex.goto(f"/tickets/{customer_ticket}")
    ada.goto(f"/tickets/{customer_ticket}")

    ada.fill("#reply-editor", "Ada: it ships today.")
    ada.click("#send-reply")
    ada.locator(".flash-success").wait_for()

    # Ada's reply appears in Alex's page while he writes; his draft stays.
    alex.fill("#reply-editor", "Alex: I will check the courier.")
    alex.locator(".msg.is-new", has_text="Ada: it ships today.").wait_for()
    alex.click("#send-reply")
    conflict = alex.locator("#reply-conflict")
    conflict.wait_for()
    assert "Ada: it ships today." in conflict.inner_text()
    assert alex.locator("#reply-body").input_value() == "Alex: I will check the courier."
    assert alex.locator(".msg.is-new").count() == 1

    alex.click("#send-reply")  # now "Send anyway"
    alex.locator(".flash-success").wait_for()
    bodies = alex.locator(".msg-reply .body").all_inner_texts()
    assert bodies == ["Ada: it ships today.", "Alex: I will check the courier."]


def test_merged_ticket_receives_the_next_customer_reply(open_as, session, agent, customer_ticket):
    duplicate = ingest(
        session,
        mail(
            "Re: my order, still nothing",
            subject="Re: Order 1001 missing",
            message_id="<b2@example.com>",
        ),
    ).ticket_id
    alex = open_as(agent.email)
    alex.goto(f"/tickets/{duplicate}")
    alex.get_by_role("link", name=f"Merge this ticket into #{customer_ticket}").click()
    alex.click("#merge-submit")
    alex.wait_for_url(re.compile(rf"/tickets/{customer_ticket}$"))
    assert "still nothing" in alex.locator(".conversation").inner_text()

    answer = ingest(
        session,
        mail(
            "Found it at the neighbour's!",
            message_id="<b3@example.com>",
            headers={"In-Reply-To": "<b2@example.com>"},
        ),
    )
    assert answer.ticket_id == customer_ticket
    alex.reload()
    assert "Found it at the neighbour's!" in alex.locator(".conversation").inner_text()
