"""In Chromium: build a segment in the rule builder, write a campaign, preview it; send a
campaign, open it, click its link, unsubscribe, and read it all in the report."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.campaigns.sending_support import run_campaign_jobs
from tests.campaigns.tracking_support import run_tracking_jobs
from tests.factories import (
    make_custom_field,
    make_customer,
    make_delivery,
    make_sending_campaign,
    make_subscribers,
)
from tests.helpers import browser_login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def customers(session):
    make_custom_field(session, key="plan", label="Plan", field_type="text")
    for email, name, plan in (
        ("minji@example.com", "김민지", "pro"),
        ("joon@example.com", "Joon Park", "pro"),
        ("free@example.com", "Free Rider", "free"),
    ):
        make_customer(
            session, email=email, name=name, subscription_status="subscribed", fields={"plan": plan}
        )


def test_build_segment_write_campaign_and_preview(page, marketer, customers):
    browser_login(page, marketer.email)
    page.wait_for_url("**/campaigns")

    page.goto("/segments/new")
    page.fill("input[name=name]", "Pro plan")
    count = page.locator("#segment-count")
    expect(count).to_have_text("3")
    page.click("#rule-builder >> text=Add group")
    row = page.locator("#rule-builder .rule-condition").first
    row.locator("select[aria-label=field]").select_option("custom.plan")
    row.locator("select[aria-label=op]").select_option("eq")
    row.locator("input[aria-label=Value]").fill("pro")
    expect(count).to_have_text("2")
    expect(page.locator("#segment-sample")).to_contain_text("minji@example.com")
    expect(page.locator("#segment-sample")).not_to_contain_text("free@example.com")
    row.locator("input[aria-label=Value]").fill("")
    expect(page.locator("#rules-error")).to_contain_text("enter a value")
    row.locator("input[aria-label=Value]").fill("pro")
    expect(count).to_have_text("2")
    page.click("button[value=save]")
    expect(page.locator(".flash")).to_contain_text("Segment Pro plan saved.")

    page.goto("/campaigns/new")
    page.fill("input[name=name]", "Pro news")
    page.fill("input[name=subject]", "{{ customer.name }}님, 새 소식")
    page.fill("input[name=from_name]", "Shop")
    page.fill("input[name=from_email]", "news@shop.example")
    page.select_option("select[name=segment_id]", label="Pro plan")
    page.fill(
        "textarea[name=html_body]",
        "<style>p { color: #123456 }</style><p>Hello {{ customer.name }}, "
        "you are on {{ customer.custom.plan }}.</p>",
    )
    page.click("main button.primary[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Campaign Pro news saved.")

    page.click("text=Preview")
    page.select_option("select[name=customer_id]", label="김민지 <minji@example.com>")
    page.click("button:has-text('Show')")
    expect(page.locator("#preview-subject")).to_have_text("김민지님, 새 소식")
    desktop = page.frame_locator("iframe.preview-desktop").locator("p")
    expect(desktop).to_have_text("Hello 김민지, you are on pro.")
    expect(desktop).to_have_attribute("style", "color: #123456;")
    narrow = page.frame_locator("iframe.preview-narrow").locator("p")
    expect(narrow).to_have_text("Hello 김민지, you are on pro.")
    assert page.locator("iframe.preview-narrow").bounding_box()["width"] < 400


def _tracking_paths(received) -> tuple[str, str, str]:
    """The pixel, the tracked link and the unsubscribe page, as paths on our server."""
    html = received.message.get_body(("html",)).get_content()
    pixel = re.search(r'<img[^>]+src="([^"]+/t/o/[^"]+)"', html).group(1)
    click = re.search(r'href="([^"]+/t/c/[^"]+)"', html).group(1)
    unsubscribe = re.search(r"<(https?://[^>]+)>", received.message["List-Unsubscribe"]).group(1)
    return tuple(urlsplit(unescape(url)).path for url in (pixel, click, unsubscribe))


def test_send_open_click_unsubscribe_and_read_the_report(
    page, live_server, marketer, session, worker_env, redis_conn, smtp_handler, monkeypatch
):
    monkeypatch.setenv("MACHINE_OPEN_SECONDS", "0")
    make_customer(session, email="minji@example.com", subscription_status="subscribed")
    campaign = make_sending_campaign(
        session,
        html_body=(
            "<p>Hello {{ customer.name }},</p>"
            f'<p><a href="{live_server}/faq">Read our answers</a></p>'
        ),
    )
    browser_login(page, marketer.email)
    page.wait_for_url("**/campaigns")
    page.goto(f"/campaigns/{campaign.id}")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("button[value=send_now]")
    expect(page.locator(".flash")).to_contain_text("Sending to 1 recipient.")

    run_campaign_jobs(redis_conn)
    [received] = smtp_handler.received
    pixel, click, unsubscribe = _tracking_paths(received)

    assert page.request.get(pixel).headers["content-type"] == "image/gif"
    page.goto(click)
    expect(page).to_have_url(f"{live_server}/faq")
    page.goto(unsubscribe)
    page.click("main button[type=submit]")
    expect(page.locator("main")).to_contain_text("unsubscribed")
    run_tracking_jobs(redis_conn)

    page.goto(f"/campaigns/{campaign.id}/report")
    for figure, value in (("sent", "1"), ("human_opens", "1"), ("unique_clicks", "1")):
        expect(page.locator(f'[data-figure="{figure}"]')).to_have_text(value)
    expect(page.locator('[data-figure="unsubscribes"]')).to_have_text("1")


def test_a_marketer_sees_each_delivery_state_apart_while_the_campaign_sends(
    page, marketer, session
):
    from datetime import timedelta

    from helpdesk.campaigns.models import CampaignStatus, DeliveryState
    from helpdesk.db import utcnow

    campaign = make_sending_campaign(session, status=CampaignStatus.sending, started_at=utcnow())
    states = [DeliveryState.pending] * 3 + [
        DeliveryState.sending,
        DeliveryState.sent,
        DeliveryState.sent,
        DeliveryState.failed,
        DeliveryState.uncertain,
        DeliveryState.skipped,
    ]
    deliveries = [
        make_delivery(session, campaign, customer, state=state, claimed_at=utcnow())
        for customer, state in zip(make_subscribers(session, len(states)), states, strict=True)
    ]
    browser_login(page, marketer.email)
    page.wait_for_url("**/campaigns")

    page.goto(f"/campaigns/{campaign.id}/report")
    states_table = page.locator("#delivery-states")
    for state, count in (
        ("pending", "3"),
        ("sending", "1"),
        ("sent", "2"),
        ("failed", "1"),
        ("uncertain", "1"),
        ("skipped", "1"),
    ):
        expect(states_table.locator(f'[data-figure="{state}"]')).to_have_text(count)
    expect(states_table.locator('tr[data-state="uncertain"]')).to_contain_text(
        "we can't tell whether it was delivered. We never send it again"
    )
    expect(states_table.locator('tr[data-state="sending"]')).to_contain_text(
        "Being handed to the mail server right now."
    )

    # The worker hands the one in flight over and claims the next: the page follows.
    deliveries[3].state = DeliveryState.sent
    deliveries[0].state = DeliveryState.sending
    deliveries[0].claimed_at = utcnow() - timedelta(seconds=1)
    session.commit()
    expect(states_table.locator('[data-figure="sent"]')).to_have_text("3")
    expect(states_table.locator('[data-figure="pending"]')).to_have_text("2")
    expect(states_table.locator('[data-figure="sending"]')).to_have_text("1")
    expect(page.locator("#campaign-progress")).to_contain_text("6 of 9 recipients handled.")

    page.goto(f"/campaigns/{campaign.id}")
    expect(page.locator('#delivery-states [data-figure="uncertain"]')).to_have_text("1")
    expect(page.locator('#delivery-states [data-figure="pending"]')).to_have_text("2")
