"""Template limits where marketers and workers meet them: the editor's save, preview and
test send show the limit and the line; a campaign send marks only the recipient whose
render failed, with the reason, and never hangs the worker."""

from __future__ import annotations

import time

from rq import Queue
from sqlalchemy import func, select

from helpdesk import template_sandbox
from helpdesk.campaigns import jobs
from helpdesk.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState
from helpdesk.campaigns.sending import start_sending
from helpdesk.db import utcnow
from helpdesk.queue import MAIL_QUEUE
from tests.campaigns.sending_support import run_campaign_jobs
from tests.factories import make_campaign, make_segment, make_sending_campaign, make_subscribers
from tests.helpers import post_form

NESTED_LOOPS = '<p>Hi</p>\n{% for a in "x"*3000 %}{% for b in "x"*3000 %}{% endfor %}{% endfor %}'
QUICK = template_sandbox.MAX_RENDER_SECONDS + 3
FORM = {
    "name": "June news",
    "subject": "Hello",
    "from_name": "Shop",
    "from_email": "news@shop.example",
    "reply_to": "",
    "text_body": "",
    "segment_id": "",
}


def _saved_unchecked(session, html_body: str) -> Campaign:
    """A campaign stored as a campaign saved before the limits existed would be."""
    campaign = Campaign(
        name="Old", subject="Hello", from_email="news@shop.example", html_body=html_body
    )
    session.add(campaign)
    session.commit()
    return campaign


def test_saving_nested_loops_is_refused_quickly_with_the_line(marketer_client, session):
    started = time.monotonic()
    response = post_form(marketer_client, "/campaigns/new", FORM | {"html_body": NESTED_LOOPS})
    assert time.monotonic() - started < QUICK
    assert response.status_code == 400
    assert "HTML body, line 2: The template&#39;s loops run more than 100,000 times." in (
        response.text
    )
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_saving_a_hundred_megabyte_string_is_refused(marketer_client, session):
    body = '<p>Hi</p>\n{{ "x"*10**8 }}'
    response = post_form(marketer_client, "/campaigns/new", FORM | {"html_body": body})
    assert response.status_code == 400
    assert "HTML body, line 2: The template makes a text of more than 2,000,000" in response.text
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_preview_of_a_template_over_the_limits_shows_the_line(marketer_client, session):
    campaign = _saved_unchecked(session, NESTED_LOOPS)
    started = time.monotonic()
    response = marketer_client.get(f"/campaigns/{campaign.id}/preview")
    assert time.monotonic() - started < QUICK
    assert response.status_code == 400
    assert "HTML body, line 2: The template&#39;s loops run more than" in response.text


def test_test_send_of_a_template_over_the_limits_is_refused_and_queues_nothing(
    marketer_client, session, redis_conn
):
    campaign = _saved_unchecked(session, NESTED_LOOPS)
    response = post_form(
        marketer_client, f"/campaigns/{campaign.id}/test", {"addresses": "me@team.example"}
    )
    assert response.status_code == 400
    assert "HTML body, line 2: The template&#39;s loops run more than" in response.text
    assert Queue(MAIL_QUEUE, connection=redis_conn).count == 0


def test_sending_a_template_over_the_limits_is_refused_before_any_delivery(
    marketer_client, session, redis_conn
):
    make_subscribers(session, 2)
    campaign = _saved_unchecked(session, NESTED_LOOPS)
    campaign.segment_id = make_segment(session, {}).id
    session.commit()
    response = post_form(
        marketer_client, f"/campaigns/{campaign.id}/schedule", {"action": "send_now"}
    )
    assert response.status_code == 400
    assert "HTML body, line 2: The template&#39;s loops run more than" in response.text
    session.expire_all()
    assert session.get(Campaign, campaign.id).status == CampaignStatus.draft
    assert session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_a_preview_that_tried_to_change_the_sample_leaves_the_next_preview_whole(
    marketer_client, session
):
    probe = _saved_unchecked(session, "<p>{{ customer.pop('name') }}</p>")
    assert marketer_client.get(f"/campaigns/{probe.id}/preview").status_code == 400
    campaign = make_campaign(session, html_body="<p>Hello {{ customer.name }}</p>")
    page = marketer_client.get(f"/campaigns/{campaign.id}/preview").text
    assert "Hello Sample Customer" in page


def test_a_recipient_whose_render_goes_over_a_limit_fails_with_the_reason(
    session, config, redis_conn, worker_env, smtp_handler
):
    make_subscribers(session, 4)
    bomb = (
        '{% if customer.name == "Reader 2" %}\n'
        '{% for a in "x"*3000 %}{% for b in "x"*3000 %}{% endfor %}{% endfor %}\n'
        "{% endif %}<p>Hello {{ customer.name }}</p>"
    )
    campaign = make_sending_campaign(session, html_body=bomb)
    start_sending(session, campaign.id, utcnow(), enqueue_jobs=jobs.enqueuer(config))
    started = time.monotonic()
    run_campaign_jobs(redis_conn)
    assert time.monotonic() - started < 30
    session.expire_all()
    deliveries = {
        d.email: d
        for d in session.scalars(select(Delivery).where(Delivery.campaign_id == campaign.id))
    }
    failed = deliveries.pop("sub2@example.com")
    assert failed.state == DeliveryState.failed
    assert "HTML body, line 2: The template's loops run more than 100,000 times." in (
        failed.last_error
    )
    assert {d.state for d in deliveries.values()} == {DeliveryState.sent}
    assert "sub2@example.com" not in smtp_handler.recipients()
