"""HTML output: CSS inlined for mail clients, a readable text part, line numbers in errors."""

from __future__ import annotations

from helpdesk.campaigns.rendering import (
    CampaignContent,
    check_templates,
    extract_links,
    html_to_text,
    render_for_delivery,
    sample_customer,
)

URLS = {"unsubscribe_url": "https://h.test/u", "view_in_browser_url": "https://h.test/v"}


def _render(html_body: str, subject: str = "s"):
    return render_for_delivery(
        CampaignContent(subject=subject, html_body=html_body), sample_customer(), URLS
    )


def test_css_from_style_block_is_inlined():
    _, html, _ = _render(
        "<html><head><style>p.lead { color: #336699; font-size: 18px }</style></head>"
        '<body><p class="lead">Hello</p></body></html>'
    )
    assert "<style" not in html
    assert 'style="color: #336699;font-size: 18px;"' in html


def test_text_part_keeps_links_as_text_and_url():
    text = html_to_text(
        '<p>Read <a href="https://shop.example/sale?x=1&amp;y=2">our sale</a> today.</p>'
        '<p><a href="https://shop.example/">https://shop.example/</a></p>'
    )
    assert "Read our sale (https://shop.example/sale?x=1&y=2) today." in text
    # A link whose text is its URL is not written twice.
    assert "https://shop.example/ (https://shop.example/)" not in text


def test_text_part_is_generated_from_html_by_default():
    _, _, text = _render("<h1>Big news</h1><p>Hello {{ customer.first_name }}</p>")
    assert "Big news" in text
    assert "Hello Sample" in text
    assert "<" not in text


def test_syntax_error_is_reported_with_its_line():
    problems = check_templates(
        CampaignContent(subject="Hi", html_body="<p>one</p>\n<p>two</p>\n{% if customer.name %}")
    )
    assert len(problems) == 1
    assert problems[0].part == "HTML body"
    assert problems[0].line == 3
    assert str(problems[0]).startswith("HTML body, line 3:")


def test_runtime_error_is_reported_with_its_line():
    problems = check_templates(
        CampaignContent(subject="Hi {{ customer.name|nosuchfilter }}", html_body="<p>ok</p>")
    )
    assert [(p.part, p.line) for p in problems] == [("Subject", 1)]


def test_errors_in_edited_text_part_are_reported():
    problems = check_templates(
        CampaignContent(
            subject="s", html_body="<p>ok</p>", text_body="a\nb\n{{ 1 / 0 }}", text_edited=True
        )
    )
    assert [(p.part, p.line) for p in problems] == [("Text body", 3)]


def test_subject_is_one_line():
    subject, _, _ = _render("<p>x</p>", subject="Hello\r\nBcc: victim@example.com")
    assert "\n" not in subject and "\r" not in subject


def test_extract_links_in_order_without_repeats():
    html = (
        '<a href="https://a.example/1">1</a><a href="mailto:x@y">m</a>'
        '<a href="https://b.example/2">2</a><a href="https://a.example/1">again</a>'
    )
    assert extract_links(html) == ["https://a.example/1", "https://b.example/2"]


def test_generated_text_part_is_not_html_escaped_and_has_no_blank_runs():
    customer = dict(sample_customer(), name="Kim & Lee <VIP>")
    _, html, text = render_for_delivery(
        CampaignContent(
            subject="s",
            html_body=(
                "<p>Hi {{ customer.name }}</p>\n{% if customer.purchases.count %}\n\n\n"
                '<p>Thanks</p>{% endif %}<p><a href="{{ unsubscribe_url }}">Stop</a></p>'
            ),
        ),
        customer,
        URLS,
    )
    assert "Kim &amp; Lee &lt;VIP&gt;" in html
    assert text == "Hi Kim & Lee <VIP>\n\nThanks\n\nStop (https://h.test/u)\n"
