"""Older pages of the customer timeline: keyset pages (time, then adapter, then row id)
that together hold every entry once, in order, also where entries share a time; the
same few queries per page however many entries it shows, and none with OFFSET."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from helpdesk.auth.models import Role
from helpdesk.customers import service, timeline
from tests.factories import make_customer, make_purchase

START = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def hours(n: int) -> datetime:
    return START + timedelta(hours=n)


@pytest.fixture
def long_story(session, agent):
    """130 entries: purchases and notes, a third of them sharing a time with another."""
    customer = make_customer(session, now=START)
    for n in range(1, 65):
        make_purchase(session, customer, product=f"P{n}", purchased_at=hours(n // 3 * 3))
        service.add_note(
            session, customer, author_id=agent.id, kind="call", happened_at=hours(n), body=f"N{n}"
        )
    service.set_subscription(customer, "subscribed", source="signup form", now=hours(30))
    session.commit()
    return customer


def all_pages(session, customer_id, role=Role.agent, limit=50):
    pages, after = [], None
    while True:
        page = service.customer_timeline_page(session, customer_id, role, after, limit=limit)
        pages.append(page.entries)
        if page.older is None:
            return pages
        after = page.older


def identity(entry):
    return (entry.at, entry.kind, str(entry.title), str(entry.detail))


def test_the_pages_hold_every_entry_once_newest_first(session, long_story):
    everything = timeline.timeline_page(session, long_story.id, limit=1000).entries
    pages = all_pages(session, long_story.id)
    assert [len(p) for p in pages] == [50, 50, 30]
    walked = [identity(e) for page in pages for e in page]
    assert walked == [identity(e) for e in everything]
    assert len(set(walked)) == 130


def test_entries_sharing_a_time_are_not_lost_between_small_pages(session, long_story):
    everything = timeline.timeline_page(session, long_story.id, limit=1000).entries
    walked = [identity(e) for page in all_pages(session, long_story.id, limit=2) for e in page]
    assert walked == [identity(e) for e in everything]


def test_a_page_costs_the_same_queries_however_many_entries_it_shows(session, long_story):
    statements: list[str] = []
    offsets: list = []

    def record(conn, cursor, statement, parameters, *args):
        statements.append(statement)
        # SQLite's compiler writes "LIMIT ? OFFSET ?" for every LIMIT, with an offset of 0.
        if re.search(r"\bOFFSET\b", statement, re.IGNORECASE):
            offsets.append(parameters[-1] if isinstance(parameters, tuple) else parameters)

    service.customer_timeline_page(session, long_story.id, Role.agent)  # warm: lazy loads
    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        first = service.customer_timeline_page(session, long_story.id, Role.agent, limit=50)
        small = len(statements)
        service.customer_timeline_page(session, long_story.id, Role.agent, first.older, limit=50)
        older = len(statements) - small
        statements_before = len(statements)
        service.customer_timeline_page(session, long_story.id, Role.agent, limit=5)
        few = len(statements) - statements_before
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert small == older == few
    assert set(offsets) <= {0}


def test_a_marketer_pages_without_notes(session, long_story):
    pages = all_pages(session, long_story.id, role=Role.marketer)
    kinds = {e.kind for page in pages for e in page}
    assert "note" not in kinds
    assert sum(len(p) for p in pages) == 66


def test_a_cursor_round_trips_through_its_token(session, long_story):
    cursor = service.customer_timeline_page(session, long_story.id, Role.agent).older
    assert timeline.Cursor.parse(cursor.token()) == cursor


@pytest.mark.parametrize(
    "token",
    [
        "",
        "yesterday~purchase~1",
        "2024-01-01T12:00:00~purchase~1",  # no time zone
        "2024-01-01T12:00:00+00:00~nothing~1",
        "2024-01-01T12:00:00+00:00~purchase~-1",
        "2024-01-01T12:00:00+00:00~purchase",
    ],
)
def test_a_token_it_did_not_make_is_refused(token):
    with pytest.raises(timeline.BadCursor):
        timeline.Cursor.parse(token)


# --- the pages ----------------------------------------------------------------------------


def test_the_customer_page_links_to_the_older_entries(agent_client, long_story):
    html = agent_client.get(f"/customers/{long_story.id}").get_data(as_text=True)
    assert html.count('<li class="timeline-') == 50
    [href] = re.findall(r'href="([^"]+/timeline\?before=[^"]+)"', html)
    older = agent_client.get(href.replace("&amp;", "&"))
    assert older.status_code == 200
    page = older.get_data(as_text=True)
    assert page.count('<li class="timeline-') == 50
    assert "Older timeline entries" in page
    assert 'rel="next"' in page


def test_the_last_page_has_no_older_link(agent_client, session, long_story):
    pages = all_pages(session, long_story.id)
    assert len(pages) == 3
    cursor = service.customer_timeline_page(session, long_story.id, Role.agent).older
    second = service.customer_timeline_page(session, long_story.id, Role.agent, cursor)
    html = agent_client.get(
        f"/customers/{long_story.id}/timeline", query_string={"before": second.older.token()}
    ).get_data(as_text=True)
    assert html.count('<li class="timeline-') == 30
    assert 'rel="next"' not in html


def test_a_bad_cursor_gets_a_clear_error(agent_client, long_story):
    response = agent_client.get(f"/customers/{long_story.id}/timeline?before=nonsense")
    assert response.status_code == 400
    assert "That is not a place in the timeline" in response.get_data(as_text=True)


def test_an_unknown_customer_is_404(agent_client):
    token = f"{START.isoformat()}~purchase~1"
    assert agent_client.get(f"/customers/999/timeline?before={token}").status_code == 404
