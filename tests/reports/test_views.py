"""The dashboard pages: who may open them, bad filters, figures on the page, CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.db import utcnow
from helpdesk.faq.models import ArticleViewCount, ContactAfterFaq, SearchCount
from tests.factories import make_mailbox, make_user
from tests.helpers import login, post_form
from tests.reports.support import SEOUL, ticket, utc

RANGE = {"from": "2026-03-02", "to": "2026-03-03"}


@pytest.fixture
def manager_client(client, session):
    manager = make_user(
        session, email="boss@example.com", name="Boss", is_manager=True, timezone="Asia/Seoul"
    )
    login(client, manager.email)
    return client


@pytest.fixture
def seeded(session):
    ana = make_user(session, email="ana@example.com", name="=Ana")  # a formula-like name
    # In Seoul: 2 March 00:00 and 3 March 23:00; answered in 10 and 30 minutes.
    ticket(session, utc(2026, 3, 1, 15, 0), n=1, assignee_id=ana.id, first_response=10,
           resolved=90)  # fmt: skip
    ticket(session, utc(2026, 3, 3, 14, 0), n=2, assignee_id=ana.id, first_response=30)
    return ana


def test_manager_agent_opens_the_dashboard_and_plain_agent_does_not(client, session, agent, seeded):
    login(client, agent.email)
    for path in ("/dashboard", "/dashboard/now", "/dashboard/volume.csv"):
        assert client.get(path).status_code == 403, path
    assert b'href="/dashboard"' not in client.get("/tickets").data
    post_form(client, "/logout")
    manager = make_user(session, email="boss@example.com", name="Boss", is_manager=True)
    login(client, manager.email)
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert b'href="/dashboard"' in page.data  # in the main navigation


def test_dashboard_page_shows_figures_and_charts(manager_client, seeded):
    page = manager_client.get("/dashboard", query_string=RANGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<span class="tile-value" data-figure="created">2</span>' in html
    assert '<span class="tile-value" data-figure="resolved">1</span>' in html
    # First responses 10 and 30 minutes: median 20, p90 10 + 0.9 * 20 = 28.
    assert 'data-figure="frt_median">20 min<' in html
    assert 'data-figure="frt_p90">28 min<' in html
    assert "<title>Tickets per day: new and resolved</title>" in html
    assert "Day (Asia/Seoul)" in html
    assert "<title>Busiest hours: new tickets by hour of day</title>" in html
    assert 'id="now"' in html and "data-refresh-url" in html
    assert "2026-03-02 to 2026-03-03 (Asia/Seoul)" in html


def test_now_fragment(manager_client, session):
    # Created today in the manager's time zone, whatever the time of day the test runs.
    now = utcnow()
    seoul_midnight = now.astimezone(SEOUL).replace(hour=0, minute=0, second=0, microsecond=0)
    created = seoul_midnight + (now - seoul_midnight) / 2
    ticket(session, created, n=1, status="new",
           response_due_at=utcnow() - timedelta(minutes=5))  # fmt: skip
    fragment = manager_client.get("/dashboard/now")
    assert fragment.status_code == 200
    html = fragment.get_data(as_text=True)
    assert "<html" not in html
    assert 'data-figure="unassigned">1<' in html and 'data-figure="overdue">1<' in html
    assert 'data-figure="new_today">1<' in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "2026-02-30", "to": "2026-03-03"}, "Enter a date like 2024-03-31."),
        ({"from": "yesterday"}, "Enter a date like 2024-03-31."),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "The end date must not be before"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "Choose at most 366 days."),
        ({"from": "1900-01-01", "to": "1900-01-02"}, "between the years 2000 and 2100"),
        ({"mailbox": "999"}, "This mailbox does not exist."),
        ({"mailbox": "x1"}, "Choose a mailbox from the list."),
    ],
)
def test_bad_filters_are_refused_with_a_message(manager_client, session, query, message):
    make_mailbox(session)
    for path in ("/dashboard", "/dashboard/now", "/dashboard/summary.csv"):
        response = manager_client.get(path, query_string=query)
        assert response.status_code == 400, (path, query)
        assert message in response.get_data(as_text=True), path
    for model in (ArticleViewCount, SearchCount, ContactAfterFaq):
        assert session.scalar(select(func.count()).select_from(model)) == 0


def test_unknown_export_is_404(manager_client):
    assert manager_client.get("/dashboard/passwords.csv").status_code == 404


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment;" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_csv_exports_match_the_figures(manager_client, seeded):
    volume = _csv(manager_client.get("/dashboard/volume.csv", query_string=RANGE))
    assert volume == [
        ["day", "new", "resolved"],
        ["2026-03-02", "1", "1"],
        ["2026-03-03", "1", "0"],
    ]
    summary = dict(_csv(manager_client.get("/dashboard/summary.csv", query_string=RANGE))[1:])
    assert summary["tickets_created"] == "2"
    assert summary["first_response_median_minutes"] == "20.0"
    assert summary["first_response_p90_minutes"] == "28.0"
    assert summary["resolution_median_minutes"] == "90.0"
    agents = _csv(manager_client.get("/dashboard/agents.csv", query_string=RANGE))
    by_name = {row[0]: row for row in agents[1:]}
    # A name starting with "=" would run as a spreadsheet formula: it is quoted.
    assert by_name["'=Ana"][1:5] == ["0", "1", "20.0", "28.0"]
    hours = _csv(manager_client.get("/dashboard/hours.csv", query_string=RANGE))
    assert hours[0][:3] == ["weekday", "00", "01"]
    assert hours[1][1] == "1"  # Monday 2 March 00:00 in Seoul
    assert hours[2][24] == "1"  # Tuesday 3 March 23:00
    names = ["now", "now-agents", "faq-viewed", "faq-helpful", "faq-unhelpful"]
    for name in [*names, "faq-searches", "faq-contacts"]:
        assert len(_csv(manager_client.get(f"/dashboard/{name}.csv", query_string=RANGE))) >= 1
