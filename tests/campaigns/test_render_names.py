"""Name personalization: given and family names and the salutation, in Korean and English."""

from __future__ import annotations

import pytest

from helpdesk.campaigns.rendering import (
    CampaignContent,
    check_templates,
    customer_contexts,
    render_for_delivery,
    sample_customer,
)
from tests.factories import make_customer

URLS = {"unsubscribe_url": "https://helpdesk.test/u", "view_in_browser_url": "https://h.test/v"}


def render(session, customer, subject: str, html_body: str = "<p>x</p>"):
    context = customer_contexts(session, [customer.id])[customer.id]
    return render_for_delivery(CampaignContent(subject=subject, html_body=html_body), context, URLS)


def test_korean_name_with_a_space_is_greeted_by_the_given_name(session):
    customer = make_customer(session, name="김 민준")
    subject, html, text = render(
        session,
        customer,
        "{{ customer.first_name }}님, 이번 달 소식",
        "<p>{{ customer.salutation }} {{ customer.given_name }}/{{ customer.family_name }}</p>",
    )
    assert subject == "민준님, 이번 달 소식"
    assert "<p>김민준 님, 민준/김</p>" in html
    assert text == "김민준 님, 민준/김\n"


def test_western_name_is_greeted_in_english_by_the_given_names(session):
    customer = make_customer(session, name="Mary Ann Smith")
    subject, html, _ = render(
        session,
        customer,
        "{{ customer.salutation }} news for {{ customer.first_name }} {{ customer.last_name }}",
    )
    assert subject == "Hi Mary Ann, news for Mary Ann Smith"


def test_entered_parts_are_what_the_template_gets(session):
    customer = make_customer(session, name="Kim Minjun", given_name="민준", family_name="김")
    subject, _, _ = render(session, customer, "{{ customer.salutation }} {{ customer.given_name }}")
    # The name is in Latin letters, so the automatic salutation is English.
    assert subject == "Hi 민준, 민준"


@pytest.mark.parametrize(
    ("name", "korean", "english"),
    [
        ("김민준", "김민준 님,", "Hi 민준,"),
        ("Mary Smith", "Mary Smith 님,", "Hi Mary,"),
        ("", "고객님,", "Hello,"),
    ],
)
def test_salutation_in_a_chosen_language(session, name, korean, english):
    customer = make_customer(session, name=name)
    subject, _, _ = render(
        session, customer, "{{ customer.salutation_ko }}|{{ customer.salutation_en }}"
    )
    assert subject == f"{korean}|{english}"


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("{{ customer.salutation }} 새 소식입니다", "고객님, 새 소식입니다"),
        ("{{ customer.salutation }} here is our news", "Hello, here is our news"),
    ],
)
def test_a_customer_without_a_name_is_greeted_in_the_campaigns_language(session, subject, expected):
    customer = make_customer(session, name="")
    assert render(session, customer, subject)[0] == expected


def test_a_name_in_hangul_is_greeted_in_korean_even_in_an_english_campaign(session):
    customer = make_customer(session, name="이서연")
    assert render(session, customer, "{{ customer.salutation }} news")[0] == "이서연 님, news"


def test_name_variables_are_escaped_in_html(session):
    customer = make_customer(session, name="<b>Kim</b> Lee")
    _, html, _ = render(session, customer, "s", "<p>{{ customer.salutation }}</p>")
    assert "<p>Hi &lt;b&gt;Kim&lt;/b&gt;,</p>" in html


def test_sample_data_has_every_name_variable():
    sample = sample_customer()
    assert (sample["given_name"], sample["family_name"], sample["salutation"]) == (
        "Sample",
        "Customer",
        "Hi Sample,",
    )
    content = CampaignContent(
        subject="{{ customer.salutation_ko }}",
        html_body="<p>{{ customer.first_name }} {{ customer.last_name }}</p>",
    )
    assert check_templates(content) == []
