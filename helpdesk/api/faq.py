"""/faq/articles: the FAQ's articles to read (list, get, search, faq:read) and to write
(create, change under If-Match, publish, faq:write), through helpdesk.faq.service with
the rules of the FAQ editor: every save validated, rendered, indexed and kept in the
history."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.api.auth import current_caller
from helpdesk.api.etags import check_if_match
from helpdesk.api.pagination import PageQuery, page_model
from helpdesk.api.problems import Problem, field_errors, invalid_input
from helpdesk.api.routing import api_route, cursor_page, found, not_found
from helpdesk.faq import search, service
from helpdesk.faq.models import Article, ArticleLanguage, ArticleStatus
from helpdesk.input_bounds import MAX_ID
from helpdesk.web import db_session

TAG = "faq"


class ArticleOut(BaseModel):
    id: int
    title: str
    slug: str
    language: ArticleLanguage
    status: ArticleStatus
    body: str = Field(description="Markdown, as written.")
    body_html: str = Field(description="The sanitized page HTML.")
    category_id: int | None
    tags: list[str]
    helpful_yes: int
    helpful_no: int
    used_in_replies: int
    created_at: datetime
    updated_at: datetime


class ArticleChanges(BaseModel):
    """The fields to set; a field left out keeps its value (on create: its default)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=service.MAX_TITLE)
    body: str | None = Field(None, max_length=service.MAX_BODY, description="Markdown.")
    language: ArticleLanguage | None = None
    status: ArticleStatus | None = None
    category_id: int | None = Field(None, ge=1, le=MAX_ID)
    tags: list[str] | None = Field(None, max_length=100)
    slug: str | None = Field(None, max_length=service.MAX_SLUG)


class ArticleIn(ArticleChanges):
    title: str = Field(max_length=service.MAX_TITLE)
    body: str = Field(max_length=service.MAX_BODY, description="Markdown.")


class ArticleListQuery(PageQuery):
    language: ArticleLanguage | None = None
    status: ArticleStatus | None = None
    category_id: int | None = Field(None, ge=1, le=MAX_ID)


class SearchQuery(BaseModel):
    q: str = Field(max_length=search.MAX_QUERY_LENGTH, description="Words to look for.")
    language: ArticleLanguage | None = None
    limit: int = Field(10, ge=1, le=50)


class SearchHitOut(BaseModel):
    article: ArticleOut
    score: float
    snippet_html: str = Field(description="An excerpt with the matches in <mark>.")


class SearchResultOut(BaseModel):
    data: list[SearchHitOut]


ArticlePage = page_model(ArticleOut)


def article_out(article: Article) -> ArticleOut:
    return ArticleOut.model_validate(article, from_attributes=True)


def _article(article_id: int) -> Article:
    return found(service.get_article(db_session(), article_id), "article", article_id)


def _data(changes: ArticleChanges, current: Article | None) -> service.ArticleData:
    data = service.article_data(current) if current is not None else service.ArticleData()
    for name, value in changes.model_dump(exclude_unset=True).items():
        if name == "category_id" or value is not None:
            setattr(data, name, value.value if hasattr(value, "value") else value)
    return data


def _refused(exc: service.InvalidInput) -> Problem:
    return invalid_input(field_errors(exc.errors))


@api_route(
    "GET",
    "/faq/articles",
    tag=TAG,
    summary="List FAQ articles",
    scope="faq:read",
    query=ArticleListQuery,
    response=ArticlePage,
)
def list_articles(query: ArticleListQuery):
    """In id order; drafts too, filtered by language, status and category."""
    flt = service.ArticleFilter(
        language=query.language or "", status=query.status or "", category_id=query.category_id
    )
    return cursor_page(
        ArticlePage,
        "faq-articles",
        query,
        lambda after, limit: service.articles_after(db_session(), flt, after, limit),
        article_out,
    )


@api_route(
    "GET",
    "/faq/articles/<int:article_id>",
    tag=TAG,
    summary="Get a FAQ article",
    scope="faq:read",
    response=ArticleOut,
    etag=True,
)
def get_article(article_id: int):
    return article_out(_article(article_id))


@api_route(
    "GET",
    "/faq/search",
    tag=TAG,
    summary="Search the published FAQ articles",
    scope="faq:read",
    query=SearchQuery,
    response=SearchResultOut,
)
def search_articles(query: SearchQuery):
    """Best match first, as the help centre's search ranks them."""
    try:
        hits = search.search_articles(
            db_session(), query.q, query.language.value if query.language else None, query.limit
        )
    except search.SearchQueryInvalid as exc:
        raise invalid_input(field_errors({"q": str(exc)})) from None
    return SearchResultOut(
        data=[
            SearchHitOut(
                article=article_out(hit.article), score=hit.score, snippet_html=hit.snippet_html
            )
            for hit in hits
        ]
    )


@api_route(
    "POST",
    "/faq/articles",
    tag=TAG,
    summary="Write a FAQ article",
    scope="faq:write",
    body=ArticleIn,
    response=ArticleOut,
    status=201,
    etag=True,
)
def create_article(body: ArticleIn):
    """A draft unless `status` says published; the address (slug) follows the title."""
    try:
        article = service.create_article(db_session(), _data(body, None), current_caller().user_id)
    except service.InvalidInput as exc:
        raise _refused(exc) from None
    return article_out(article)


@api_route(
    "PATCH",
    "/faq/articles/<int:article_id>",
    tag=TAG,
    summary="Change a FAQ article",
    scope="faq:write",
    body=ArticleChanges,
    response=ArticleOut,
    etag=True,
    if_match=True,
)
def update_article(article_id: int, body: ArticleChanges):
    """Send the ETag of your last read in If-Match: 412 when the article changed since.
    The version before stays in the history."""
    session = db_session()
    current = found(session.get(Article, article_id, with_for_update=True), "article", article_id)
    check_if_match(article_out(current))
    try:
        article = service.update_article(
            session, article_id, _data(body, current), current_caller().user_id
        )
    except service.InvalidInput as exc:
        raise _refused(exc) from None
    return article_out(article)


@api_route(
    "POST",
    "/faq/articles/<int:article_id>/publish",
    tag=TAG,
    summary="Publish a FAQ article",
    scope="faq:write",
    response=ArticleOut,
)
def publish_article(article_id: int):
    """Shown on the help centre from now on; publishing a published article changes
    nothing visible."""
    try:
        article = service.publish_article(db_session(), article_id, current_caller().user_id)
    except service.ArticleNotFound:
        raise not_found("article", article_id) from None
    except service.InvalidInput as exc:
        raise _refused(exc) from None
    return article_out(article)
