"""The editor's preview as a chosen customer shows the name variables, and the editor
lists every placeholder in the viewer's language."""

from __future__ import annotations

import re

from helpdesk.auth import service as auth_service
from tests.factories import make_campaign, make_customer

HTML = "<p>{{ customer.salutation }} {{ customer.given_name }}/{{ customer.family_name }}</p>"


def variables(page: str) -> dict[str, str]:
    return dict(re.findall(r'<dd data-variable="(\w+)">([^<]*)</dd>', page))


def test_preview_as_a_korean_customer(marketer_client, session):
    campaign = make_campaign(session, subject="{{ customer.first_name }}님께", html_body=HTML)
    customer = make_customer(session, email="minjun@example.com", name="김 민준")
    response = marketer_client.get(f"/campaigns/{campaign.id}/preview?customer_id={customer.id}")
    assert response.status_code == 200
    page = response.text
    assert 'id="preview-subject">민준님께<' in page
    assert "&lt;p&gt;김민준 님, 민준/김&lt;/p&gt;" in page
    assert variables(page) == {
        "given_name": "민준",
        "family_name": "김",
        "salutation": "김민준 님,",
    }


def test_preview_as_a_western_customer(marketer_client, session):
    campaign = make_campaign(session, html_body=HTML)
    customer = make_customer(session, email="mary@example.com", name="Mary Ann Smith")
    page = marketer_client.get(f"/campaigns/{campaign.id}/preview?customer_id={customer.id}").text
    assert "&lt;p&gt;Hi Mary Ann, Mary Ann/Smith&lt;/p&gt;" in page
    assert variables(page)["salutation"] == "Hi Mary Ann,"


def test_preview_of_a_nameless_customer_greets_in_the_campaigns_language(marketer_client, session):
    campaign = make_campaign(session, subject="{{ customer.salutation }} 새 소식", html_body=HTML)
    customer = make_customer(session, email="nameless@example.com", name="")
    page = marketer_client.get(f"/campaigns/{campaign.id}/preview?customer_id={customer.id}").text
    assert 'id="preview-subject">고객님, 새 소식<' in page
    assert variables(page) == {"given_name": "", "family_name": "", "salutation": "고객님,"}


def test_preview_with_sample_data_shows_the_sample_names(marketer_client, session):
    campaign = make_campaign(session, html_body=HTML)
    page = marketer_client.get(f"/campaigns/{campaign.id}/preview").text
    assert variables(page) == {
        "given_name": "Sample",
        "family_name": "Customer",
        "salutation": "Hi Sample,",
    }


def test_the_customer_search_finds_customers_by_entered_given_name(marketer_client, session):
    campaign = make_campaign(session)
    make_customer(session, email="minjun@example.com", name="Kim Minjun", given_name="민준")
    make_customer(session, email="other@example.com", name="Lee Seoyeon")
    page = marketer_client.get(f"/campaigns/{campaign.id}/preview?q=민준").text
    assert "minjun@example.com" in page
    assert "other@example.com" not in page


def test_editor_lists_the_name_variables(marketer_client, session):
    campaign = make_campaign(session)
    page = marketer_client.get(f"/campaigns/{campaign.id}").text
    assert 'id="template-variables"' in page
    for placeholder in (
        "customer.given_name",
        "customer.family_name",
        "customer.salutation",
        "customer.salutation_ko",
        "customer.salutation_en",
    ):
        assert f"<code>{{{{ {placeholder} }}}}</code>" in page
    assert "“김민준 님,” for a name in Hangul" in page


def test_editor_lists_the_variables_in_korean(marketer_client, session, marketer):
    auth_service.update_preferences(session, marketer, language="ko", timezone="Asia/Seoul")
    session.commit()
    page = marketer_client.get("/campaigns/new").text
    assert "<summary>개인화</summary>" in page
    assert "이름(given name): 김민준이면 민준" in page
