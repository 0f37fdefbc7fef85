"""The latest campaigns side by side, and who may see them."""

from __future__ import annotations

import pytest

from helpdesk.campaigns.models import DeliveryState
from helpdesk.reports import campaign_figures
from tests.factories import make_delivery, make_sending_campaign, make_subscribers, make_user
from tests.helpers import login
from tests.reports.support import utc


@pytest.fixture
def campaigns(session):
    people = make_subscribers(session, 6)
    spring = make_sending_campaign(session, name="Spring", started_at=utc(2026, 3, 1, 9, 0))
    summer = make_sending_campaign(session, name="Summer", started_at=utc(2026, 6, 1, 9, 0))
    make_sending_campaign(session, name="Draft")  # never started: not compared
    clicked = utc(2026, 3, 1, 10, 0)
    make_delivery(session, spring, people[0], open_count=1, first_clicked_at=clicked)
    make_delivery(session, spring, people[1], machine_open_count=1)  # a proxy only
    make_delivery(session, spring, people[2], bounce_kind="hard")
    make_delivery(session, spring, people[3], open_count=2, unsubscribed_at=clicked)
    make_delivery(session, summer, people[4], state=DeliveryState.failed, sent_at=None)
    make_delivery(session, summer, people[5], bounce_kind="soft")
    return spring, summer


def test_latest_campaigns_figures_by_hand(session, campaigns):
    spring, summer = campaign_figures.latest_campaigns(session)
    assert (spring.name, summer.name) == ("Spring", "Summer")  # oldest first
    # Spring: 4 sent, 1 bounced, so 3 delivered; people opened 2, clicked 1.
    assert (spring.sent, spring.bounces, spring.delivered) == (4, 1, 3)
    assert spring.open_rate == pytest.approx(2 / 3)
    assert spring.click_rate == pytest.approx(1 / 3)
    assert spring.unsubscribes == 1
    assert spring.bounce_rate == pytest.approx(1 / 4)
    # Summer: 1 sent and it bounced; nothing delivered, so no rates.
    assert (summer.sent, summer.delivered, summer.bounces) == (1, 0, 1)
    assert summer.open_rate is None and summer.click_rate is None


def test_a_campaign_still_sending_counts_only_accepted_messages_as_sent(session):
    people = make_subscribers(session, 6)
    autumn = make_sending_campaign(session, name="Autumn", started_at=utc(2026, 9, 1, 9, 0))
    for person, state in zip(people, DeliveryState, strict=True):
        make_delivery(session, autumn, person, state=state)

    [row] = campaign_figures.latest_campaigns(session)

    assert (row.sent, row.delivered) == (1, 1)


def test_latest_campaigns_when_none_was_sent(session):
    assert campaign_figures.latest_campaigns(session) == []


def test_marketer_sees_campaign_results_but_not_the_team_dashboard(marketer_client, campaigns):
    page = marketer_client.get("/dashboard/campaigns")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Spring" in html and "66.7%" in html and "<svg" in html
    assert marketer_client.get("/dashboard").status_code == 403
    assert marketer_client.get("/dashboard/now").status_code == 403
    assert marketer_client.get("/dashboard/volume.csv").status_code == 403
    export = marketer_client.get("/dashboard/campaigns.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    lines = export.get_data(as_text=True).splitlines()
    assert lines[0].startswith("campaign,started_at,sent,delivered,human_opens,open_rate")
    assert lines[1].startswith("Spring,2026-03-01T09:00:00+00:00,4,3,2,0.6667,1,0.3333,1,1,0,0")


def test_plain_agent_sees_no_campaign_results(agent_client):
    assert agent_client.get("/dashboard/campaigns").status_code == 403


def test_manager_agent_sees_campaign_results(client, session, campaigns):
    manager = make_user(session, email="boss@example.com", name="Boss", is_manager=True)
    login(client, manager.email)
    assert client.get("/dashboard/campaigns").status_code == 200
