"""Personalization: customer fields, custom fields, purchases and links per recipient."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from helpdesk.campaigns.rendering import CampaignContent, customer_contexts, render_for_delivery
from tests.factories import make_custom_field, make_customer, make_purchase

URLS = {
    "unsubscribe_url": "https://helpdesk.test/u/abc",
    "view_in_browser_url": "https://helpdesk.test/v/abc",
}


def _render(session, customer, **content):
    context = customer_contexts(session, [customer.id])[customer.id]
    return render_for_delivery(CampaignContent(**content), context, URLS)


def test_customer_fields_in_korean(session):
    customer = make_customer(session, email="minji@example.com", name="김민지", company="한빛상사")
    subject, html, text = _render(
        session,
        customer,
        subject="{{ customer.name }}님, 안녕하세요",
        html_body="<p>{{ customer.company }}의 {{ customer.name }}님</p>",
    )
    assert subject == "김민지님, 안녕하세요"
    assert "한빛상사의 김민지님" in html
    assert "한빛상사의 김민지님" in text


def test_custom_fields_by_key_and_missing_ones_are_empty(session):
    make_custom_field(session, key="plan", label="Plan", field_type="text")
    make_custom_field(session, key="seats", label="Seats", field_type="number")
    make_custom_field(session, key="region", label="Region", field_type="text")
    customer = make_customer(session, fields={"plan": "Pro", "seats": "12"})
    _, html, _ = _render(
        session,
        customer,
        subject="s",
        html_body=(
            "<p>{{ customer.custom.plan }}/{{ customer.custom.seats }}/"
            "{% if customer.custom.region %}R{% else %}no region{% endif %}</p>"
        ),
    )
    assert "Pro/12/no region" in html


def test_purchase_summary(session):
    customer = make_customer(session)
    make_purchase(
        session,
        customer,
        product="Starter",
        amount=Decimal("10000"),
        order_ref="1",
        purchased_at=datetime(2024, 1, 5, tzinfo=UTC),
    )
    make_purchase(
        session,
        customer,
        product="Pro",
        amount=Decimal("25000.50"),
        order_ref="2",
        purchased_at=datetime(2024, 6, 1, tzinfo=UTC),
    )
    _, html, _ = _render(
        session,
        customer,
        subject="s",
        html_body=(
            "<p>{{ customer.purchases.count }} orders, {{ customer.purchases.total }}, "
            "last {{ customer.purchases.last_product }} "
            "on {{ customer.purchases.last_date.strftime('%Y-%m-%d') }}</p>"
        ),
    )
    assert "2 orders, 35000.5, last Pro on 2024-06-01" in html


def test_unsubscribe_and_view_in_browser_urls(session):
    customer = make_customer(session)
    _, html, text = _render(
        session,
        customer,
        subject="s",
        html_body=(
            '<a href="{{ view_in_browser_url }}">View online</a> '
            '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'
        ),
    )
    assert 'href="https://helpdesk.test/u/abc"' in html
    assert "View online (https://helpdesk.test/v/abc)" in text
    assert "Unsubscribe (https://helpdesk.test/u/abc)" in text


def test_customer_values_are_escaped_in_html_but_not_in_text(session):
    customer = make_customer(session, name="<b>Bold</b> & Co")
    _, html, text = _render(
        session,
        customer,
        subject="Hi {{ customer.name }}",
        html_body="<p>{{ customer.name }}</p>",
        text_body="Hi {{ customer.name }}",
        text_edited=True,
    )
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in html
    assert "<b>Bold" not in html
    assert text == "Hi <b>Bold</b> & Co"


def test_edited_text_part_is_used_instead_of_the_generated_one(session):
    customer = make_customer(session, name="Kim")
    _, _, text = _render(
        session,
        customer,
        subject="s",
        html_body="<p>HTML version</p>",
        text_body="Plain version for {{ customer.name }}",
        text_edited=True,
    )
    assert text == "Plain version for Kim"
