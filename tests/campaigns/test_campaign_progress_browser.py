"""In Chromium: the campaign page follows a send live and stops asking once it is done."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpdesk.campaigns.models import CampaignStatus, DeliveryState
from helpdesk.db import utcnow
from tests.factories import make_delivery, make_sending_campaign, make_subscribers
from tests.helpers import browser_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def test_campaign_page_shows_progress_and_the_finished_status_without_a_reload(
    page, marketer, session
):
    campaign = make_sending_campaign(session, status=CampaignStatus.sending, started_at=utcnow())
    deliveries = [
        make_delivery(session, campaign, customer, state=DeliveryState.pending)
        for customer in make_subscribers(session, 2)
    ]
    browser_login(page, marketer.email)
    page.wait_for_url("**/campaigns")
    page.goto(f"/campaigns/{campaign.id}")
    expect(page.locator("#campaign-status")).to_have_text("Sending")
    expect(page.locator("#campaign-progress")).to_contain_text("0 of 2 recipients handled.")

    deliveries[0].state = DeliveryState.sent
    session.commit()
    expect(page.locator("#campaign-progress")).to_contain_text("1 of 2 recipients handled.")

    deliveries[1].state = DeliveryState.sent
    campaign.status = CampaignStatus.sent
    campaign.finished_at = utcnow()
    session.commit()
    expect(page.locator("#campaign-status")).to_have_text("Sent")
    expect(page.locator("#campaign-progress")).to_contain_text("2 of 2 recipients handled.")


def test_polling_stops_once_the_campaign_is_done(page, marketer, session):
    campaign = make_sending_campaign(session, status=CampaignStatus.sending, started_at=utcnow())
    (customer,) = make_subscribers(session, 1)
    make_delivery(session, campaign, customer, state=DeliveryState.sent)
    campaign.status = CampaignStatus.sent
    session.commit()
    polls: list[str] = []
    page.on(
        "request", lambda request: polls.append(request.url) if "/progress" in request.url else None
    )
    browser_login(page, marketer.email)
    page.wait_for_url("**/campaigns")
    campaign.status = CampaignStatus.sending
    session.commit()
    page.goto(f"/campaigns/{campaign.id}")
    campaign.status = CampaignStatus.sent
    session.commit()
    expect(page.locator("#campaign-status")).to_have_text("Sent")
    asked = len(polls)

    page.wait_for_timeout(5000)

    assert asked >= 1
    assert len(polls) == asked
