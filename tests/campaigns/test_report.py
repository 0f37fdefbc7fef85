"""Report figures, checked against values counted by hand from a known set of deliveries."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from helpdesk.campaigns import reports
from helpdesk.campaigns.models import (
    CampaignLink,
    CampaignStatus,
    ClickEvent,
    DeliveryState,
    OpenEvent,
)
from helpdesk.db import utcnow
from tests.factories import make_delivery, make_sending_campaign, make_subscribers


@pytest.fixture
def campaign(session):
    """10 recipients: 7 sent, 1 failed, 1 uncertain, 1 pending. Of the sent: 1 hard and
    1 soft bounce; 3 opened by people (one also by a proxy), 1 only by a proxy; 2 clicked
    (one twice, on both links); 1 unsubscribed; 1 complained."""
    customers = make_subscribers(session, 10)
    campaign = make_sending_campaign(session, status=CampaignStatus.sending, started_at=utcnow())
    links = [
        CampaignLink(campaign_id=campaign.id, url="https://shop.example/a", position=0),
        CampaignLink(campaign_id=campaign.id, url="https://shop.example/b", position=1),
    ]
    session.add_all(links)
    session.commit()
    now = utcnow()
    states = [DeliveryState.sent] * 7 + [
        DeliveryState.failed,
        DeliveryState.uncertain,
        DeliveryState.pending,
    ]
    d = [
        make_delivery(session, campaign, customer, state=state, sent_at=now - timedelta(hours=2))
        for customer, state in zip(customers, states, strict=True)
    ]
    d[0].bounce_kind, d[1].bounce_kind = "hard", "soft"
    for delivery in (d[2], d[3], d[4]):
        delivery.open_count, delivery.first_opened_at = 1, now
        session.add(OpenEvent(delivery_id=delivery.id, at=now, is_machine=False))
    d[4].machine_open_count = 1
    d[5].machine_open_count = 1
    session.add(OpenEvent(delivery_id=d[5].id, at=now, is_machine=True))
    d[2].click_count, d[2].first_clicked_at = 2, now
    d[3].click_count, d[3].first_clicked_at = 1, now
    session.flush()
    session.add_all(
        [
            ClickEvent(delivery_id=d[2].id, link_id=links[0].id, at=now),
            ClickEvent(delivery_id=d[2].id, link_id=links[1].id, at=now),
            ClickEvent(delivery_id=d[3].id, link_id=links[0].id, at=now),
        ]
    )
    d[3].unsubscribed_at = now
    d[6].complained_at = now
    d[9].sent_at = None
    session.commit()
    return campaign


def test_figures_match_the_hand_count(session, campaign):
    figures = reports.campaign_figures(session, campaign.id)

    assert (figures.recipients, figures.sent, figures.failed) == (10, 7, 1)
    assert (figures.uncertain, figures.pending) == (1, 1)
    assert (figures.hard_bounces, figures.soft_bounces) == (1, 1)
    assert (figures.human_opens, figures.machine_opens) == (3, 1)
    assert figures.unique_clicks == 2
    assert (figures.unsubscribes, figures.complaints) == (1, 1)
    assert figures.delivered == 5
    assert figures.rate(figures.human_opens) == pytest.approx(3 / 5)
    assert figures.rate(figures.unique_clicks) == pytest.approx(2 / 5)
    assert figures.progress == pytest.approx(9 / 10)


def test_clicks_per_link_count_clicks_and_people(session, campaign):
    links = reports.clicks_per_link(session, campaign.id)

    assert [(link.url, link.clicks, link.unique_clicks) for link in links] == [
        ("https://shop.example/a", 2, 2),
        ("https://shop.example/b", 1, 1),
    ]


def test_report_page_shows_figures_rates_chart_and_progress(marketer_client, campaign):
    response = marketer_client.get(f"/campaigns/{campaign.id}/report")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert 'data-figure="human_opens">3<' in page
    assert 'data-figure="machine_opens">1<' in page
    assert 'data-rate="human_opens">60.0%<' in page
    assert 'data-rate="unique_clicks">40.0%<' in page
    assert "<svg" in page
    assert "Human opens (3)" in page
    assert f'data-poll-url="/campaigns/{campaign.id}/report/progress"' in page
    assert 'aria-valuenow="90"' in page


def test_progress_fragment_stops_polling_once_sent(marketer_client, session, campaign):
    assert "data-poll-done" not in marketer_client.get(
        f"/campaigns/{campaign.id}/report/progress"
    ).get_data(as_text=True)
    campaign.status = CampaignStatus.sent
    session.commit()

    fragment = marketer_client.get(f"/campaigns/{campaign.id}/report/progress")
    assert "data-poll-done" in fragment.get_data(as_text=True)


def test_csv_export_has_one_row_per_recipient(marketer_client, campaign):
    response = marketer_client.get(f"/campaigns/{campaign.id}/report.csv")

    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert response.mimetype == "text/csv"
    assert len(rows) == 10
    assert rows[0]["email"] == "sub0@example.com"
    assert rows[0]["bounce"] == "hard"
    assert [row["state"] for row in rows].count("sent") == 7


def test_report_of_a_missing_campaign_is_404(marketer_client):
    assert marketer_client.get("/campaigns/999/report").status_code == 404


def test_agents_cannot_see_campaign_reports(agent_client, campaign):
    assert agent_client.get(f"/campaigns/{campaign.id}/report").status_code == 403


def test_segment_comparison_lists_each_campaign_with_its_segment(session, campaign):
    rows = reports.segment_comparison(session, campaign.id)

    assert [(row.campaign_id, row.segment_name, row.figures.sent) for row in rows] == [
        (campaign.id, "Everyone subscribed", 7)
    ]
