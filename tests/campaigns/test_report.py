"""Report figures, checked against values counted by hand from a known set of deliveries."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape

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

STALLED_BEFORE_MINUTES = 10


@pytest.fixture
def campaign(session):
    """13 recipients, every delivery state: 7 sent, 1 failed, 1 uncertain, 1 pending,
    1 skipped and 2 sending (one claimed a moment ago, one two hours ago: stalled). Of the
    sent: 1 hard and 1 soft bounce; 3 opened by people (one also by a proxy), 1 only by a
    proxy; 2 clicked (one twice, on both links); 1 unsubscribed; 1 complained."""
    customers = make_subscribers(session, 13)
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
        DeliveryState.skipped,
        DeliveryState.sending,
        DeliveryState.sending,
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
    for waiting in d[9:]:
        waiting.sent_at = None
    d[11].claimed_at = now - timedelta(seconds=5)
    d[12].claimed_at = now - timedelta(hours=2)
    session.commit()
    return campaign


def _stalled_before():
    return utcnow() - timedelta(minutes=STALLED_BEFORE_MINUTES)


def test_figures_match_the_hand_count(session, campaign):
    figures = reports.campaign_figures(session, campaign.id, stalled_before=_stalled_before())

    assert (figures.recipients, figures.sent, figures.failed) == (13, 7, 1)
    assert (figures.hard_bounces, figures.soft_bounces) == (1, 1)
    assert (figures.human_opens, figures.machine_opens) == (3, 1)
    assert figures.unique_clicks == 2
    assert (figures.unsubscribes, figures.complaints) == (1, 1)
    assert figures.delivered == 5
    assert figures.rate(figures.human_opens) == pytest.approx(3 / 5)
    assert figures.rate(figures.unique_clicks) == pytest.approx(2 / 5)
    assert figures.progress == pytest.approx(10 / 13)


def test_each_delivery_state_is_counted_on_its_own(session, campaign):
    figures = reports.campaign_figures(session, campaign.id, stalled_before=_stalled_before())

    by_state = {state.value: getattr(figures, state.value) for state in DeliveryState}
    assert by_state == {
        "pending": 1,
        "sending": 2,
        "sent": 7,
        "failed": 1,
        "uncertain": 1,
        "skipped": 1,
    }
    assert sum(by_state.values()) == figures.recipients
    assert figures.stalled == 1
    assert figures.handled == 7 + 1 + 1 + 1


def test_without_a_cut_off_no_delivery_counts_as_stalled(session, campaign):
    figures = reports.campaign_figures(session, campaign.id)

    assert (figures.sending, figures.stalled) == (2, 0)


def test_a_campaign_with_no_recipients_is_complete(session):
    empty = make_sending_campaign(session, status=CampaignStatus.sent, started_at=utcnow())

    figures = reports.campaign_figures(session, empty.id, stalled_before=_stalled_before())

    assert (figures.recipients, figures.pending, figures.sending, figures.handled) == (0, 0, 0, 0)
    assert figures.progress == 1.0


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
    assert '<progress class="progress" max="100" value="77">' in page


def test_progress_fragment_stops_polling_once_sent(marketer_client, session, campaign):
    assert "data-poll-done" not in marketer_client.get(
        f"/campaigns/{campaign.id}/report/progress"
    ).get_data(as_text=True)
    campaign.status = CampaignStatus.sent
    session.commit()

    fragment = marketer_client.get(f"/campaigns/{campaign.id}/report/progress")
    assert "data-poll-done" in fragment.get_data(as_text=True)


EACH_STATE = {"pending": 1, "sending": 2, "sent": 7, "failed": 1, "uncertain": 1, "skipped": 1}
UNCERTAIN_EN = (
    "We lost contact with the mail server right after handing it this message, so we"
    " can't tell whether it was delivered. We never send it again, so nobody gets two copies."
)
UNCERTAIN_KO = (
    "이 메시지를 메일 서버에 넘긴 직후 연결이 끊겨 전달되었는지 알 수 없습니다."
    " 다시 보내지 않으므로 같은 메일을 두 번 받는 사람은 없습니다."
)


def _state_figures(page: str) -> dict[str, int]:
    rows = re.findall(r'<tr data-state="(\w+)">.*?data-figure="\1">(\d+)<', page, re.DOTALL)
    return {state: int(count) for state, count in rows}


@pytest.mark.parametrize(
    "path",
    ["/campaigns/{id}/report", "/campaigns/{id}/report/progress", "/campaigns/{id}"],
    ids=["report", "progress", "campaign-page"],
)
def test_each_page_shows_every_delivery_state_as_its_own_figure(marketer_client, campaign, path):
    page = marketer_client.get(path.format(id=campaign.id)).get_data(as_text=True)

    assert _state_figures(page) == EACH_STATE
    assert "10 of 13 recipients handled." in page
    assert UNCERTAIN_EN in unescape(page)
    assert "Being handed to the mail server right now." in page
    assert 'data-figure="stalled">1 of them have been at this step for too long' in page


def test_the_figures_and_explanations_read_in_korean(marketer_client, session, marketer, campaign):
    marketer.language = "ko"
    session.merge(marketer)
    session.commit()

    page = marketer_client.get(f"/campaigns/{campaign.id}/report").get_data(as_text=True)

    assert _state_figures(page) == EACH_STATE
    assert "수신자 13명 중 10명 처리 완료." in page
    assert UNCERTAIN_KO in page
    assert "지금 메일 서버에 넘기는 중입니다." in page
    for label in ("대기 중", "지금 발송 중", "발송됨", "실패", "확인 불가", "건너뜀"):
        assert f'<th scope="row">{label}<br>' in page
    assert 'data-status="sending">발송 중<' in page


def test_a_draft_campaign_page_shows_no_delivery_figures(marketer_client, session):
    draft = make_sending_campaign(session)

    page = marketer_client.get(f"/campaigns/{draft.id}").get_data(as_text=True)

    assert "delivery-states" not in page
    assert "campaign-progress" not in page


def test_csv_export_has_one_row_per_recipient(marketer_client, campaign):
    response = marketer_client.get(f"/campaigns/{campaign.id}/report.csv")

    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert response.mimetype == "text/csv"
    assert len(rows) == 13
    assert rows[0]["email"] == "sub0@example.com"
    assert rows[0]["bounce"] == "hard"
    states = [row["state"] for row in rows]
    assert {state.value: states.count(state.value) for state in DeliveryState} == {
        "pending": 1,
        "sending": 2,
        "sent": 7,
        "failed": 1,
        "uncertain": 1,
        "skipped": 1,
    }


def test_report_of_a_missing_campaign_is_404(marketer_client):
    assert marketer_client.get("/campaigns/999/report").status_code == 404


def test_agents_cannot_see_campaign_reports(agent_client, campaign):
    assert agent_client.get(f"/campaigns/{campaign.id}/report").status_code == 403


def test_segment_comparison_lists_each_campaign_with_its_segment(session, campaign):
    rows = reports.segment_comparison(session, campaign.id)

    assert [(row.campaign_id, row.segment_name, row.figures.sent) for row in rows] == [
        (campaign.id, "Everyone subscribed", 7)
    ]
