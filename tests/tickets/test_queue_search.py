"""How a search reaches its page: reading the view in order for common terms, the search
indexes for sparse ones, and the same tickets either way (Korean and short terms included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from helpdesk.tickets import queue_search, queues
from helpdesk.tickets.models import Ticket, TicketStatus
from helpdesk.tickets.queues import QueueFilter, View, list_tickets, updates_since
from tests.factories import make_customer, make_message, make_ticket

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)


def search(session, user_id, term, view=View.all, page=1, size=100):
    return list_tickets(
        session, QueueFilter(view=view, text=term), user_id=user_id, now=NOW, page=page, size=size
    )


@pytest.fixture
def walk_only(monkeypatch):
    """Chunks large enough that a search never needs the indexes in these small sets."""
    monkeypatch.setattr(queues, "SEARCH_CHUNKS", (1000, 1000))
    monkeypatch.setattr(queues, "SEARCH_WALK_LIMIT", 2000)


@pytest.fixture
def walk_with_many_customers(walk_only, monkeypatch):
    """As walk_only, with the matching customers too many to list (tested in SQL)."""
    monkeypatch.setattr(queue_search, "MAX_LISTED_CUSTOMERS", 0)


@pytest.fixture
def index_only(monkeypatch):
    """A one-ticket walk that finds nothing sends every search to the indexes."""
    monkeypatch.setattr(queues, "SEARCH_CHUNKS", (1,))
    monkeypatch.setattr(queues, "SEARCH_WALK_LIMIT", 1)


def newest_first(session, count, **overrides):
    return [
        make_ticket(session, updated_at=NOW - timedelta(minutes=i), **overrides).id
        for i in range(count)
    ]


def test_common_term_fills_the_page_from_the_newest_tickets_without_counting_all(
    session, agent, monkeypatch
):
    monkeypatch.setattr(queues, "SEARCH_CHUNKS", (4, 16))
    monkeypatch.setattr(queues, "SEARCH_WALK_LIMIT", 20)
    made = newest_first(session, 12, subject="환불 요청")
    first = search(session, agent.id, "환불", size=3)
    assert [r.ticket.id for r in first.rows] == made[:3]
    assert first.exact is False and first.total == 3  # "more than 3"
    second = search(session, agent.id, "환불", page=2, size=3)
    assert [r.ticket.id for r in second.rows] == made[3:6]


def test_sparse_term_is_looked_up_in_the_index_and_counted_exactly(session, agent, index_only):
    newest_first(session, 5, subject="Question")
    older = make_ticket(session, subject="Old refund", updated_at=NOW - timedelta(days=3))
    oldest = make_ticket(session, subject="Older refund", updated_at=NOW - timedelta(days=4))
    page = search(session, agent.id, "refund")
    assert page.exact is True and page.total == 2
    assert [r.ticket.id for r in page.rows] == [older.id, oldest.id]


def test_search_reads_a_whole_small_view_and_counts_exactly(session, agent, walk_only):
    wanted = make_ticket(session, subject="Broken kettle", status=TicketStatus.open).id
    make_ticket(session, subject="Broken kettle", status=TicketStatus.closed)
    page = search(session, agent.id, "kettle", view=View.open)
    assert page.exact is True and page.total == 1
    assert [r.ticket.id for r in page.rows] == [wanted]


@pytest.fixture
def korean_mail(session):
    """Tickets whose text puts short terms at every awkward place: the last character of
    a subject, of a message, of a customer name, one-character words, mixed case."""
    make_customer(session, email="minji.kim@example.com", name="김민지")
    made = {
        "subject_end": make_ticket(session, subject="환불 요청 돈"),
        "message_end": make_ticket(session, subject="Question"),
        "customer": make_ticket(session, subject="Hello", customer_email="minji.kim@example.com"),
        "ascii": make_ticket(session, subject="Order XQ-7 arrived"),
        "unrelated": make_ticket(session, subject="배송 문의"),
    }
    make_message(session, made["message_end"], body_text="결제가 두 번 됐어요. 환불")
    make_message(session, made["unrelated"], body_text="교환 문의드립니다")
    return {name: t.id for name, t in made.items()}


TERMS = {
    "돈": {"subject_end"},
    "환불": {"subject_end", "message_end"},
    "환": {"subject_end", "message_end", "unrelated"},
    "불": {"subject_end", "message_end"},
    "민지": {"customer"},
    "지": {"customer"},
    "xq": {"ascii"},
    "xq-7": {"ascii"},
    "q": {"message_end", "ascii"},  # "Question", "XQ"
    "-": {"ascii"},
    "요.": {"message_end"},
    "MINJI.K": {"customer"},
    "없는말": set(),
}


@pytest.mark.parametrize("path", ["walk_only", "walk_with_many_customers", "index_only"])
def test_both_ways_find_the_same_tickets(session, agent, korean_mail, path, request):
    request.getfixturevalue(path)
    by_id = {v: k for k, v in korean_mail.items()}
    for term, expected in TERMS.items():
        page = search(session, agent.id, term)
        assert {by_id[r.ticket.id] for r in page.rows} == expected, term
        assert page.exact is True and page.total == len(expected), term


def test_index_way_follows_edits_of_the_last_message(session, agent, index_only):
    ticket = make_ticket(session, subject="Question")
    make_ticket(session, subject="Question")
    message = make_message(session, ticket, body_text="첫 메일 끝")
    assert [r.ticket.id for r in search(session, agent.id, "끝").rows] == [ticket.id]
    message.body_text = "고쳐 쓴 메일 값"
    session.commit()
    assert search(session, agent.id, "끝").rows == []
    assert [r.ticket.id for r in search(session, agent.id, "값").rows] == [ticket.id]


def test_live_updates_of_a_search_only_bring_matching_tickets(session, agent):
    since = NOW - timedelta(minutes=5)
    wanted = make_ticket(session, subject="환불 부탁드립니다", updated_at=NOW).id
    make_ticket(session, subject="배송 문의", updated_at=NOW)
    found = updates_since(
        session, QueueFilter(view=View.all, text="환불"), user_id=agent.id, since=since, now=NOW
    )
    assert [row.ticket.id for row in found.rows] == [wanted]
    assert len(found.changed_ids) == 2


# SQLite answers from its FTS5 table, which the cases above exercise. pg_trgm would
# accept a two-character pattern too, but by reading its whole index: short terms must
# go to the index of characters.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    ("term", "kind"),
    [
        ("환불", "_chars"),
        ("돈", "_chars"),
        ("xq-7", ""),
        ("refund", "_trgm"),
        ("배송이 아직", "_trgm"),
        ("환불 요청", ""),
    ],
)
def test_postgresql_answers_every_search_from_a_fitting_index(session, term, kind):
    matches = queue_search.indexed_matches(session, term)
    query = select(Ticket.id).where(Ticket.id.in_(select(matches.c[0])))
    compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    with session.begin():
        # On tables this small a scan is cheaper; forbid it to see that an index fits.
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(session.scalars(text(f"EXPLAIN {compiled}")))
    assert "Seq Scan on messages" not in plan and f"ix_messages_body_text{kind}" in plan
    assert "Seq Scan on tickets" not in plan and f"ix_tickets_subject{kind}" in plan


def test_page_says_more_than_and_offers_the_next_page_when_it_stopped_counting(
    agent_client, session, monkeypatch
):
    monkeypatch.setattr(queues, "SEARCH_CHUNKS", (30, 30))
    monkeypatch.setattr(queues, "SEARCH_WALK_LIMIT", 60)
    for i in range(40):
        make_ticket(session, subject=f"환불 요청 {i}", updated_at=NOW - timedelta(minutes=i))
    page = agent_client.get("/tickets?view=all&q=환불").get_data(as_text=True)
    assert "more than 25" in page
    assert "환불 요청 0<" in page and "환불 요청 24<" in page and "환불 요청 25<" not in page
    assert "page=2" in page and "Next" in page
    second = agent_client.get("/tickets?view=all&q=환불&page=2").get_data(as_text=True)
    assert "환불 요청 25<" in second and "환불 요청 39<" in second
    assert "Page 2 of 2" in second  # the last page: the whole view was read, counted


def test_page_shows_the_exact_total_of_a_sparse_search(agent_client, session):
    make_ticket(session, subject="환불 요청")
    make_ticket(session, subject="배송 문의")
    page = agent_client.get("/tickets?view=all&q=환불").get_data(as_text=True)
    assert '<span class="hint" data-total>1</span>' in page
    assert "more than" not in page
