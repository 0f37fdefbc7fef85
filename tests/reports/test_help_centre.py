"""Help-centre figures: views, votes, searches that found nothing or nothing opened, contact
after reading."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from helpdesk.db import utcnow
from helpdesk.faq import visit_counts
from helpdesk.faq.models import ArticleViewCount, ArticleVote, ContactAfterFaq, SearchCount
from helpdesk.faq.visits import FAQ_READ_KEY
from helpdesk.reports import help_centre
from tests.factories import make_article, make_mailbox
from tests.helpers import login, post_form
from tests.reports.support import SEOUL, scope, utc


def _today_scope():
    today = utcnow().astimezone(SEOUL).date()
    return scope(today - timedelta(days=1), today)


def _contact(client, email: str, token: str):
    return post_form(
        client,
        "/faq/contact",
        {
            "name": "Kim",
            "email": email,
            "subject": "Refund",
            "message": "Where is my refund?",
            "website": "",
            "form_token": token,
        },
    )


def test_visitors_views_searches_and_contacts_are_counted(app, client, session, redis_conn):
    make_mailbox(session)
    refund = make_article(session)
    shipping = make_article(
        session, title="Shipping times", body="Parcels arrive within three days."
    )
    for _ in range(2):
        assert client.get(f"/faq/en/{refund.slug}").status_code == 200
    # The visitor reads the shipping article last, then writes.
    assert client.get(f"/faq/en/{shipping.slug}").status_code == 200
    assert client.get("/faq/search?q=refund").status_code == 200
    for query in ("qxzv wopr", "  QXZV   wopr "):
        assert client.get("/faq/search", query_string={"q": query}).status_code == 200
    assert client.get("/faq/search?q=").status_code == 400  # refused: not counted
    assert _contact(client, "kim@example.com", "token-aaaaaaaaaaaaaaaa").status_code == 200
    # Someone else writes without reading anything.
    stranger = app.test_client()
    assert _contact(stranger, "lee@example.com", "token-bbbbbbbbbbbbbbbb").status_code == 200

    figures = help_centre.faq_figures(session, _today_scope())
    assert [(a.title, a.views) for a in figures.most_viewed] == [
        ("How to request a refund", 2),
        ("Shipping times", 1),
    ]
    assert [
        (s.query, s.searches, s.empty_searches, s.unopened_searches)
        for s in figures.unanswered_searches
    ] == [("qxzv wopr", 2, 2, 0), ("refund", 1, 0, 1)]
    contacts = figures.contacts
    assert (contacts.submissions, contacts.after_faq) == (2, 1)
    assert [(a.title, a.views) for a in contacts.articles_before] == [("Shipping times", 1)]
    assert session.scalar(select(func.sum(SearchCount.searches))) == 3  # "refund" too


def test_staff_reading_the_public_pages_are_not_counted(client, session, agent):
    article = make_article(session)
    login(client, agent.email)
    client.get(f"/faq/en/{article.slug}")
    client.get("/faq/search?q=nothing-here-at-all")
    assert session.scalar(select(func.count()).select_from(ArticleViewCount)) == 0
    assert session.scalar(select(func.count()).select_from(SearchCount)) == 0


def test_head_requests_from_link_checkers_are_not_counted(client, session):
    article = make_article(session)

    assert client.head(f"/faq/en/{article.slug}").status_code == 200
    assert client.head("/faq/search?q=refund").status_code == 200
    assert client.head("/faq/search?q=nothing-here-at-all").status_code == 200

    assert session.scalar(select(func.count()).select_from(ArticleViewCount)) == 0
    assert session.scalar(select(func.count()).select_from(SearchCount)) == 0
    # Nor does the browser's session remember the article as read before a contact.
    with client.session_transaction() as browser_session:
        assert FAQ_READ_KEY not in browser_session


def test_helpful_and_unhelpful_articles_from_votes_in_the_range(session):
    a = make_article(session, title="A", body="alpha")
    b = make_article(session, title="B", body="beta")
    c = make_article(session, title="C", body="gamma")
    inside = utc(2026, 3, 2, 3, 0)  # 2 March in Seoul
    outside = utc(2026, 3, 1, 14, 59)  # 1 March 23:59 in Seoul
    votes = [(a, True)] * 3 + [(a, False)] + [(b, False)] * 2 + [(c, True)]
    for n, (article, helpful) in enumerate(votes):
        session.add(ArticleVote(article_id=article.id, visitor_id=f"v{n}", helpful=helpful,
                                created_at=inside))  # fmt: skip
    session.add(ArticleVote(article_id=b.id, visitor_id="old", helpful=True, created_at=outside))
    session.commit()
    figures = help_centre.faq_figures(session, scope(date(2026, 3, 2), date(2026, 3, 2)))
    assert [(x.title, x.helpful, x.not_helpful) for x in figures.most_helpful] == [
        ("A", 3, 1),
        ("C", 1, 0),
    ]
    assert [(x.title, x.not_helpful, x.helpful) for x in figures.least_helpful] == [
        ("B", 2, 0),
        ("A", 1, 3),
    ]
    assert figures.most_helpful[0].helpful_share == 0.75


def test_views_are_summed_per_hour_inside_the_range_only(session):
    article = make_article(session)
    for at in (utc(2026, 3, 1, 15, 10), utc(2026, 3, 1, 15, 50), utc(2026, 3, 2, 14, 59)):
        visit_counts.record_article_view(session, article.id, at)
    visit_counts.record_article_view(session, article.id, utc(2026, 3, 1, 14, 59))  # before
    session.commit()
    rows = session.scalars(select(ArticleViewCount).order_by(ArticleViewCount.hour)).all()
    assert [r.views for r in rows] == [1, 2, 1]  # one row per hour
    figures = help_centre.faq_figures(session, scope(date(2026, 3, 2), date(2026, 3, 2)))
    assert [a.views for a in figures.most_viewed] == [3]
    assert session.scalar(select(func.count()).select_from(ContactAfterFaq)) == 0


def test_a_failed_count_never_costs_the_visitor_the_page(client, session, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def broken(*_args, **_kwargs):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(visit_counts, "record_article_view", broken)
    article = make_article(session)
    response = client.get(f"/faq/en/{article.slug}")
    assert response.status_code == 200
    assert article.title.encode() in response.data


def test_opening_a_result_counts_the_search_as_answered_once(client, session):
    article = make_article(session)
    assert client.get("/faq/search?q=Refund").status_code == 200
    assert client.get("/faq/search?q=refund").status_code == 200
    for _ in range(2):  # a second visit to the result is the same search opened
        assert client.get(f"/faq/en/{article.slug}?sq=refund").status_code == 200

    [figure] = help_centre.faq_figures(session, _today_scope()).unanswered_searches
    assert (figure.query, figure.searches, figure.opened_searches) == ("refund", 2, 1)
    assert figure.unopened_searches == 1


def test_a_made_up_search_link_counts_nothing(client, session):
    article = make_article(session)
    assert client.get(f"/faq/en/{article.slug}?sq=never searched").status_code == 200
    assert client.get("/faq/search?q=qxzv").status_code == 200  # found nothing
    assert client.get(f"/faq/en/{article.slug}?sq=qxzv").status_code == 200

    assert session.scalar(select(func.count()).select_from(SearchCount)) == 1
    assert session.scalar(select(func.sum(SearchCount.opened_searches))) == 0


def test_a_result_opened_just_after_the_hour_counts_for_the_search_before(session):
    make_article(session)
    visit_counts.record_search(session, "refund", 3, utc(2026, 3, 2, 3, 59))
    visit_counts.record_search_opened(session, "refund", utc(2026, 3, 2, 4, 1))
    visit_counts.record_search_opened(session, "refund", utc(2026, 3, 2, 4, 2))  # only 1 search
    session.commit()
    assert session.scalar(select(SearchCount.opened_searches)) == 1
