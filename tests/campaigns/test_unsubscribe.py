"""Unsubscribe: a GET or HEAD only asks, the one-click POST works without cookies or CSRF
token, and a POST without the one-click field changes nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from helpdesk.campaigns.models import Delivery, Suppression, SuppressionReason
from helpdesk.campaigns.sending import start_sending
from helpdesk.customers.models import Customer, SubscriptionStatus
from helpdesk.db import utcnow
from tests.campaigns.tracking_support import paths
from tests.factories import make_delivery, make_sending_campaign, make_subscribers


def _subscriber_with_delivery(session):
    customer, _other = make_subscribers(session, 2)
    campaign = make_sending_campaign(session)
    return customer, make_delivery(session, campaign, customer)


def test_get_shows_a_confirmation_and_does_not_unsubscribe(client, session):
    customer, delivery = _subscriber_with_delivery(session)

    response = client.get(paths(delivery)["unsubscribe"])

    assert response.status_code == 200
    assert "Unsubscribe from our newsletters?" in response.get_data(as_text=True)
    session.refresh(customer)
    assert customer.subscription_status == SubscriptionStatus.subscribed
    assert session.scalar(select(func.count()).select_from(Suppression)) == 0


def test_one_click_post_without_cookies_or_csrf_token_unsubscribes(app, session):
    customer, delivery = _subscriber_with_delivery(session)
    # A fresh client: no session cookie, no CSRF token, as a mail provider's server posts.
    client = app.test_client(use_cookies=False)

    response = client.post(paths(delivery)["unsubscribe"], data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    session.refresh(customer)
    session.refresh(delivery)
    assert customer.subscription_status == SubscriptionStatus.unsubscribed
    assert customer.unsubscribed_at is not None
    assert delivery.unsubscribed_at is not None
    suppression = session.get(Suppression, customer.email.lower())
    assert suppression.reason == SuppressionReason.unsubscribed


def _hidden_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))


def test_the_confirmation_form_in_the_body_link_unsubscribes(client, session):
    customer, delivery = _subscriber_with_delivery(session)
    page = client.get(paths(delivery)["unsubscribe"]).get_data(as_text=True)
    assert f'action="{paths(delivery)["unsubscribe"]}"' in page

    response = client.post(paths(delivery)["unsubscribe"], data=_hidden_fields(page))

    assert "You are unsubscribed." in response.get_data(as_text=True)
    session.refresh(customer)
    assert customer.subscription_status == SubscriptionStatus.unsubscribed


def test_every_later_campaign_leaves_out_an_unsubscribed_customer(app, session):
    customer, delivery = _subscriber_with_delivery(session)
    app.test_client(use_cookies=False).post(
        paths(delivery)["unsubscribe"], data={"List-Unsubscribe": "One-Click"}
    )

    later = make_sending_campaign(session, name="Summer news")
    start_sending(session, later.id, utcnow())

    emails = set(session.scalars(select(Delivery.email).where(Delivery.campaign_id == later.id)))
    assert customer.email not in emails
    assert len(emails) == 1


def test_a_tampered_unsubscribe_token_gets_404_and_changes_nothing(app, session):
    customer, delivery = _subscriber_with_delivery(session)
    path = paths(delivery)["unsubscribe"]
    tampered = path[:-4] + ("xxxx" if not path.endswith("xxxx") else "yyyy")
    client = app.test_client(use_cookies=False)

    one_click = {"List-Unsubscribe": "One-Click"}
    assert client.get(tampered).status_code == 404
    assert client.head(tampered).status_code == 404
    assert client.post(tampered, data=one_click).status_code == 404
    assert client.post("/u/unknown.token", data=one_click).status_code == 404
    session.refresh(customer)
    assert customer.subscription_status == SubscriptionStatus.subscribed
    assert session.scalar(select(func.count()).select_from(Suppression)) == 0
    assert session.scalar(select(func.count()).select_from(Customer)) == 2


def _still_subscribed(session, customer, delivery) -> None:
    session.refresh(customer)
    session.refresh(delivery)
    assert customer.subscription_status == SubscriptionStatus.subscribed
    assert customer.unsubscribed_at is None
    assert delivery.unsubscribed_at is None
    assert session.scalar(select(func.count()).select_from(Suppression)) == 0


def test_head_from_a_link_scanner_answers_like_get_and_unsubscribes_nobody(app, session):
    customer, delivery = _subscriber_with_delivery(session)
    client = app.test_client(use_cookies=False)

    response = client.head(paths(delivery)["unsubscribe"])

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store, private"
    assert response.get_data() == b""
    _still_subscribed(session, customer, delivery)


@pytest.mark.parametrize(
    "body",
    [{}, {"List-Unsubscribe": "one-click"}, {"List-Unsubscribe": ""}, {"unsubscribe": "yes"}],
    ids=["empty", "wrong-case", "blank", "other-field"],
)
def test_a_post_without_the_one_click_field_changes_nothing(app, session, body):
    customer, delivery = _subscriber_with_delivery(session)
    client = app.test_client(use_cookies=False)

    response = client.post(paths(delivery)["unsubscribe"], data=body)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was changed. Press the button below to unsubscribe." in page
    assert _hidden_fields(page) == {"List-Unsubscribe": "One-Click"}
    _still_subscribed(session, customer, delivery)


def test_the_one_click_field_works_as_multipart_too(app, session):
    customer, delivery = _subscriber_with_delivery(session)
    client = app.test_client(use_cookies=False)

    response = client.post(
        paths(delivery)["unsubscribe"],
        data={"List-Unsubscribe": "One-Click"},
        content_type="multipart/form-data",
    )

    assert response.status_code == 200
    session.refresh(customer)
    assert customer.subscription_status == SubscriptionStatus.unsubscribed


def test_the_refusal_reads_in_korean(app, session):
    customer, delivery = _subscriber_with_delivery(session)
    client = app.test_client(use_cookies=False)

    response = client.post(paths(delivery)["unsubscribe"], headers={"Accept-Language": "ko"})

    assert response.status_code == 400
    assert "변경된 것은 없습니다. 수신 거부하려면 아래 버튼을 누르세요." in response.get_data(
        as_text=True
    )
    _still_subscribed(session, customer, delivery)
