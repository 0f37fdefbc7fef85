"""Rows of every kind a route's path names, for the tests that walk the url_map."""

from __future__ import annotations

import pytest

from helpdesk.auth.password_reset import make_token
from helpdesk.campaigns.models import CampaignLink
from tests.campaigns.tracking_support import paths
from tests.factories import (
    make_article,
    make_custom_field,
    make_customer,
    make_delivery,
    make_faq_category,
    make_mailbox,
    make_message,
    make_segment,
    make_sending_campaign,
    make_ticket,
    make_user,
)


@pytest.fixture
def world(app, session):
    """One row of each kind a route's path names, so requests reach the views."""
    other = make_user(session, role="agent", email="other@example.com", name="Other")
    customer = make_customer(session)
    ticket = make_ticket(session, customer_email=customer.email)
    message = make_message(session, ticket)
    campaign = make_sending_campaign(session)
    session.add(CampaignLink(campaign_id=campaign.id, url="https://shop.example/spring"))
    session.commit()
    delivery = make_delivery(session, campaign, customer)
    category = make_faq_category(session)
    article = make_article(session, category_id=category.id)
    tracking = paths(delivery)
    return {
        "user_id": other.id,
        "customer_id": customer.id,
        "ticket_id": ticket.id,
        "message_id": message.id,
        "attachment_id": 1,
        "campaign_id": campaign.id,
        "segment_id": make_segment(session).id,
        "field_id": make_custom_field(session).id,
        "mailbox_id": make_mailbox(session).id,
        "raw_id": 1,
        "import_id": 1,
        "notification_id": 1,
        "purchase_id": 1,
        "token_id": 1,
        "email": "customer@example.com",
        "external_id": "shop-1",
        "tag": "vip",
        "merge_id": 1,
        "reply_id": 1,
        "endpoint_id": 1,
        "identity_id": 1,
        "delivery_id": 1,
        "article_id": article.id,
        "category_id": category.id,
        "position": 0,
        "slug": article.slug,
        "lang": "en",
        "code": "ko",
        "key": "missing",
        "scope": "default",
        "name": "volume",
        "filename": "app.css",
        "signed": tracking["view"].rsplit("/", 1)[1],
        "open_path": tracking["open"],
        "token": make_token(other, app.config["SECRET_KEY"]),
    }
