"""/faq over real HTTP: reading with faq:read (list, get, search), writing with faq:write
(create, change under If-Match, publish) through the FAQ service; refusals change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from helpdesk.faq.models import Article, ArticleRevision, ArticleStatus
from tests.api.conftest import bearer
from tests.factories import make_api_token, make_article

PROBLEM = "application/problem+json"


@pytest.fixture
def reader(session, marketer):
    return bearer(make_api_token(session, marketer, scopes=["faq:read"]))


@pytest.fixture
def writer(session, agent):
    return bearer(make_api_token(session, agent, scopes=["faq:read", "faq:write"]))


def _articles(session) -> list[tuple[str, ArticleStatus]]:
    session.expire_all()
    rows = session.execute(select(Article.title, Article.status).order_by(Article.id)).all()
    session.commit()
    return [tuple(row) for row in rows]


def test_list_filters_by_status_in_cursor_pages(api, session, reader):
    first = make_article(session, title="Refunds")
    second = make_article(session, title="Shipping times")
    make_article(session, title="Draft answer", status="draft")

    page = api.get("/faq/articles", params={"status": "published", "limit": 1}, headers=reader)
    rest = api.get(
        "/faq/articles",
        params={"status": "published", "limit": 1, "cursor": page.json()["next_cursor"]},
        headers=reader,
    )

    assert [a["id"] for a in page.json()["data"]] == [first.id]
    assert [a["id"] for a in rest.json()["data"]] == [second.id]
    assert rest.json()["next_cursor"] is None


def test_get_returns_the_article_with_its_html(api, session, reader):
    article = make_article(session, body="**Within** 30 days.")

    response = api.get(f"/faq/articles/{article.id}", headers=reader)

    assert response.status_code == 200
    assert response.json()["body_html"] == "<p><strong>Within</strong> 30 days.</p>"
    assert response.headers["etag"]


def test_unknown_article_is_404(api, reader):
    assert api.get("/faq/articles/999999", headers=reader).status_code == 404


def test_search_finds_published_articles(api, session, reader):
    refund = make_article(session, title="How to request a refund")
    make_article(session, title="Opening hours", body="We are open from nine to six.")

    response = api.get("/faq/search", params={"q": "refund"}, headers=reader)

    assert response.status_code == 200
    assert [hit["article"]["id"] for hit in response.json()["data"]] == [refund.id]


def test_empty_search_names_the_query(api, reader):
    response = api.get("/faq/search", params={"q": "  "}, headers=reader)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["q"]


def test_create_makes_a_draft_with_history(api, session, writer):
    response = api.post(
        "/faq/articles",
        headers=writer,
        json={"title": "배송 기간", "body": "보통 2-3일 걸립니다.", "language": "ko"},
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["slug"]) == ("draft", "배송-기간")
    assert session.scalar(select(func.count()).select_from(ArticleRevision)) == 1


def test_create_without_a_title_names_the_field_and_stores_nothing(api, session, writer):
    response = api.post("/faq/articles", headers=writer, json={"title": " ", "body": "x"})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == ["title"]
    assert _articles(session) == []


def test_patch_with_the_current_etag_changes_the_article(api, session, writer):
    article = make_article(session)
    etag = api.get(f"/faq/articles/{article.id}", headers=writer).headers["etag"]

    response = api.patch(
        f"/faq/articles/{article.id}",
        headers=writer | {"If-Match": etag},
        json={"title": "Refunds in 30 days"},
    )

    assert response.status_code == 200
    assert _articles(session) == [("Refunds in 30 days", ArticleStatus.published)]


def test_patch_with_a_stale_etag_is_412_and_changes_nothing(api, session, writer):
    article = make_article(session)
    etag = api.get(f"/faq/articles/{article.id}", headers=writer).headers["etag"]
    api.patch(
        f"/faq/articles/{article.id}", headers=writer | {"If-Match": etag}, json={"title": "New"}
    )

    response = api.patch(
        f"/faq/articles/{article.id}", headers=writer | {"If-Match": etag}, json={"title": "Old"}
    )

    assert response.status_code == 412
    assert _articles(session) == [("New", ArticleStatus.published)]


def test_publish_puts_a_draft_on_the_help_centre(api, session, writer):
    article = make_article(session, status="draft")

    response = api.post(f"/faq/articles/{article.id}/publish", headers=writer)

    assert response.status_code == 200
    assert _articles(session) == [("How to request a refund", ArticleStatus.published)]


def test_reader_cannot_write(api, session, reader):
    response = api.post("/faq/articles", headers=reader, json={"title": "T", "body": "B"})

    assert response.status_code == 403
    assert _articles(session) == []


def test_marketers_get_no_faq_write_scope(session, marketer):
    with pytest.raises(ValueError):
        make_api_token(session, marketer, scopes=["faq:write"])
