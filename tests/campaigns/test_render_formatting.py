"""Formatting filters in campaign templates: money by currency and the reader's language,
dates and times in the reader's time zone and language."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from helpdesk.campaigns.rendering import (
    CampaignContent,
    TemplateProblem,
    customer_contexts,
    render_for_delivery,
    sample_customer,
)
from tests.factories import make_customer

MOMENT = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)


def _text(template: str, **customer) -> str:
    """The text part of `template` rendered for the sample customer with `customer` over it."""
    content = CampaignContent(subject="s", html_body="", text_body=template, text_edited=True)
    _subject, _html, text = render_for_delivery(content, sample_customer() | customer, {})
    return text.strip()


def test_korean_won_reads_with_the_won_sign_and_no_decimals():
    assert _text("{{ 240000|money }}", language="ko") == "₩240,000"


def test_dollars_read_as_in_the_united_states_for_an_english_reader():
    assert _text("{{ 2400|money('USD') }}", language="en") == "$2,400.00"


def test_dollars_are_marked_us_for_a_korean_reader():
    assert _text("{{ 2400|money('USD') }}", language="ko") == "US$2,400.00"


def test_datetime_is_shown_in_the_readers_zone_and_language():
    korean = _text("{{ customer.when|datetime('short') }}", language="ko", timezone="Asia/Seoul")
    english = _text(
        "{{ customer.when|datetime('short') }}", language="en", timezone="America/New_York"
    )
    assert (korean, english) == ("26. 12. 5. 오전 12:30", "12/4/26, 10:30\u202fAM")


def test_date_of_a_moment_is_the_day_in_the_readers_zone():
    assert (
        _text("{{ customer.when|date }}", language="ko", timezone="Asia/Seoul") == "2026년 12월 5일"
    )
    assert _text("{{ customer.day|date('medium') }}", language="en") == "Dec 4, 2026"


@pytest.fixture(autouse=True)
def _dates(monkeypatch):
    """`customer.when` and `customer.day` in every customer context of this module."""
    import tests.campaigns.test_render_formatting as module

    original = module.sample_customer
    monkeypatch.setattr(
        module, "sample_customer", lambda: original() | {"when": MOMENT, "day": date(2026, 12, 4)}
    )


@pytest.mark.parametrize(
    "template",
    [
        "{{ 10|money('XYZ') }}",
        "{{ 'lots'|money }}",
        "{{ 'yesterday'|date }}",
        "{{ customer.when|datetime('yyyy' * 10) }}",
    ],
)
def test_bad_filter_input_is_a_template_problem(template):
    with pytest.raises(TemplateProblem):
        _text(template, language="en")


def test_customer_language_and_zone_come_from_the_record(session):
    customer = make_customer(session, email="lee@example.com", name="이서연")
    customer.language = "en"
    customer.timezone = "Europe/London"
    session.commit()
    context = customer_contexts(session, [customer.id])[customer.id]
    content = CampaignContent(
        subject="s", html_body="", text_body="{{ 240000|money }}", text_edited=True
    )

    _subject, _html, text = render_for_delivery(content, context, {})

    assert text.strip() == "₩240,000"
    assert (context["language"], context["timezone"]) == ("en", "Europe/London")


def test_customer_without_language_reads_in_the_campaigns_language(session):
    customer = make_customer(session, email="kim@example.com")
    context = customer_contexts(session, [customer.id])[customer.id]
    content = CampaignContent(
        subject="안녕하세요",
        html_body="",
        text_body="{{ customer.created_at|date('long') }}",
        text_edited=True,
    )

    _subject, _html, text = render_for_delivery(content, context, {})

    assert "년" in text
