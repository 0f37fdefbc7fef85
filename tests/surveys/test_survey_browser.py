"""In Chromium: an agent resolves a ticket, the survey check mails the customer through
a real SMTP server, the customer rates and comments from the mail's link, and the agent
sees both on the ticket."""

from __future__ import annotations

import re

from helpdesk.db import utcnow
from helpdesk.surveys import jobs
from helpdesk.tickets.models import TicketStatus
from tests.surveys.support import make_resolved_ticket, make_survey_mailbox

LINK = re.compile(r"(https?://\S+/s/\S+\?rating=bad)")


def test_customer_rates_a_resolved_ticket_from_the_survey_mail(
    browser, live_server, open_as, session, agent, config, smtp_sink, smtp_handler
):
    now = utcnow()
    mailbox = make_survey_mailbox(session, now=now, delay_minutes=0)
    ticket = make_resolved_ticket(
        session, mailbox, now=now, status=TicketStatus.open, resolved_at=None, assignee_id=agent.id
    )
    agent_page = open_as(agent.email)
    agent_page.goto(f"/tickets/{ticket.id}")
    status_form = agent_page.locator(
        "#properties form", has=agent_page.locator("select[name=status]")
    )
    status_form.locator("select[name=status]").select_option("resolved")
    with agent_page.expect_navigation():
        status_form.locator("button[type=submit]").click()

    sent = jobs.send_due_surveys(
        config.with_overrides(smtp_url=smtp_sink.url, public_url=live_server)
    )

    assert sent == 1
    mail = smtp_handler.received[0].message.get_body(("plain",)).get_content()
    link = LINK.search(mail).group(1)
    customer = browser.new_context(locale="en-US")
    try:
        page = customer.new_page()
        page.set_default_timeout(15_000)
        page.goto(link)
        page.get_by_role("button", name="Bad").click()
        page.wait_for_selector("#your-rating")
        assert "Your rating: Bad" in page.inner_text("#your-rating")
        page.fill("textarea[name=comment]", "The parcel is still missing.")
        page.get_by_role("button", name="Send comment").click()
        page.wait_for_selector("text=Thank you for your feedback.")
    finally:
        customer.close()

    agent_page.goto(f"/tickets/{ticket.id}")
    assert agent_page.get_attribute("#satisfaction-rating", "data-rating") == "bad"
    assert agent_page.inner_text("#satisfaction-comment") == "The parcel is still missing."
