"""The campaign editor pages: save with checks, template errors, preview, roles."""

from __future__ import annotations

from sqlalchemy import func, select

from helpdesk.campaigns.models import Campaign
from tests.factories import make_campaign, make_customer, make_segment
from tests.helpers import post_form

GOOD = {
    "name": "June news",
    "subject": "Hello {{ customer.name }}",
    "from_name": "Shop",
    "from_email": "news@shop.example",
    "reply_to": "help@shop.example",
    "html_body": "<p>Hello {{ customer.name }}</p>",
    "text_body": "",
    "segment_id": "",
}


def _campaign_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Campaign))


def test_marketer_creates_a_campaign(marketer_client, session):
    segment = make_segment(session, {})
    response = post_form(marketer_client, "/campaigns/new", GOOD | {"segment_id": segment.id})
    assert response.status_code == 302
    campaign = session.scalars(select(Campaign)).one()
    assert campaign.subject == "Hello {{ customer.name }}"
    assert campaign.segment_id == segment.id
    assert campaign.text_edited is False
    assert campaign.status == "draft"


def test_written_text_part_is_kept_as_edited(marketer_client, session):
    post_form(marketer_client, "/campaigns/new", GOOD | {"text_body": "Plain {{ customer.name }}"})
    campaign = session.scalars(select(Campaign)).one()
    assert campaign.text_edited is True
    assert campaign.text_body == "Plain {{ customer.name }}"


def test_template_syntax_error_shows_line_and_saves_nothing(marketer_client, session):
    body = "<p>one</p>\n<p>two</p>\n<p>{{ customer.name </p>"
    response = post_form(marketer_client, "/campaigns/new", GOOD | {"html_body": body})
    assert response.status_code == 400
    assert b"HTML body, line 3" in response.data
    assert _campaign_count(session) == 0


def test_ssti_payload_is_refused_on_save(marketer_client, session):
    body = "<p>{{ ''.__class__.__mro__ }}</p>"
    response = post_form(marketer_client, "/campaigns/new", GOOD | {"html_body": body})
    assert response.status_code == 400
    assert b"unsafe" in response.data
    assert _campaign_count(session) == 0


def test_bad_from_address_is_refused(marketer_client, session):
    response = post_form(marketer_client, "/campaigns/new", GOOD | {"from_email": "not-an-email"})
    assert response.status_code == 400
    assert b"Not a valid email address" in response.data
    assert _campaign_count(session) == 0


def test_unknown_segment_is_refused(marketer_client, session):
    response = post_form(marketer_client, "/campaigns/new", GOOD | {"segment_id": "999"})
    assert response.status_code == 400
    assert b"Choose a segment from the list." in response.data
    assert _campaign_count(session) == 0


def test_missing_name_is_refused(marketer_client, session):
    response = post_form(marketer_client, "/campaigns/new", GOOD | {"name": ""})
    assert response.status_code == 400
    assert _campaign_count(session) == 0


def test_edit_with_bad_template_keeps_the_saved_version(marketer_client, session):
    campaign = make_campaign(session)
    response = post_form(
        marketer_client, f"/campaigns/{campaign.id}", GOOD | {"subject": "{% if %}"}
    )
    assert response.status_code == 400
    session.expire_all()
    assert session.get(Campaign, campaign.id).subject == "Hello {{ customer.name }}"


def test_sent_campaign_cannot_be_edited(marketer_client, session):
    campaign = make_campaign(session)
    campaign.status = "sent"
    session.commit()
    response = post_form(marketer_client, f"/campaigns/{campaign.id}", GOOD | {"name": "Changed"})
    assert response.status_code == 400
    session.expire_all()
    assert session.get(Campaign, campaign.id).name == "Autumn news"


def test_preview_as_a_chosen_customer(marketer_client, session):
    campaign = make_campaign(session, html_body="<p>Hi {{ customer.name }}</p>")
    customer = make_customer(session, email="minji@example.com", name="김민지")
    response = marketer_client.get(f"/campaigns/{campaign.id}/preview?customer_id={customer.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="preview-subject">Hello 김민지<' in page
    # The mail's HTML sits escaped in a sandboxed iframe's srcdoc, never in the page.
    assert 'srcdoc="&lt;html&gt;&lt;head&gt;&lt;/head&gt;&lt;body&gt;&lt;p&gt;Hi 김민지' in page
    assert 'class="preview-narrow"' in page
    assert "<p>Hi 김민지</p>" not in page


def test_preview_of_unknown_customer_is_a_404(marketer_client, session):
    campaign = make_campaign(session)
    assert (
        marketer_client.get(f"/campaigns/{campaign.id}/preview?customer_id=999").status_code == 404
    )


def test_campaign_list_shows_campaigns(marketer_client, session):
    make_campaign(session, name="Chuseok sale")
    response = marketer_client.get("/campaigns")
    assert response.status_code == 200
    assert "Chuseok sale" in response.get_data(as_text=True)


def test_marketer_lands_on_campaigns(marketer_client):
    response = marketer_client.get("/")
    assert response.headers["Location"].endswith("/campaigns")


def test_agent_gets_403_everywhere(agent_client, session):
    campaign = make_campaign(session)
    for url in (
        "/campaigns",
        "/campaigns/new",
        f"/campaigns/{campaign.id}",
        f"/campaigns/{campaign.id}/preview",
    ):
        assert agent_client.get(url).status_code == 403, url
    for url in (f"/campaigns/{campaign.id}/test", f"/campaigns/{campaign.id}/schedule"):
        assert post_form(agent_client, url, {"addresses": "a@b.example"}).status_code == 403


def test_admin_can_edit(admin_client, session):
    campaign = make_campaign(session)
    assert admin_client.get(f"/campaigns/{campaign.id}").status_code == 200


def test_started_campaign_links_to_its_report(marketer_client, session):
    campaign = make_campaign(session)
    campaign.status = "sending"
    session.commit()
    report_url = f"/campaigns/{campaign.id}/report"
    assert report_url in marketer_client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert report_url in marketer_client.get("/campaigns").get_data(as_text=True)
