"""The help centre over a date range: the most viewed, most and least helpful articles, the
searches that found nothing or nothing the visitor opened, and the contact-form tickets
written after reading the FAQ."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from helpdesk.faq.models import Article, ArticleViewCount, ArticleVote, ContactAfterFaq, SearchCount
from helpdesk.mail.models import RawMessage, RawSource, RawStatus
from helpdesk.reports.periods import Scope
from helpdesk.reports.queries import _between

TOP = 10


@dataclass(frozen=True)
class ArticleFigure:
    article_id: int
    title: str
    language: str
    slug: str
    views: int = 0
    helpful: int = 0
    not_helpful: int = 0

    @property
    def helpful_share(self) -> float | None:
        votes = self.helpful + self.not_helpful
        return self.helpful / votes if votes else None


@dataclass(frozen=True)
class SearchFigure:
    query: str
    searches: int
    empty_searches: int  # found nothing
    opened_searches: int = 0  # found articles, and the visitor opened one

    @property
    def unopened_searches(self) -> int:
        """Found articles, none of which the visitor opened."""
        return self.searches - self.empty_searches - self.opened_searches


@dataclass(frozen=True)
class ContactFigures:
    submissions: int  # contact-form messages that became or joined a ticket
    after_faq: int  # of those, sent after reading at least one article
    articles_before: list[ArticleFigure]  # the last article read before writing, most often


@dataclass(frozen=True)
class FaqFigures:
    most_viewed: list[ArticleFigure]
    most_helpful: list[ArticleFigure]
    least_helpful: list[ArticleFigure]
    unanswered_searches: list[SearchFigure]
    contacts: ContactFigures


def faq_figures(session: Session, scope: Scope, limit: int = TOP) -> FaqFigures:
    """Views, votes and searches in the range (the help centre is not per mailbox)."""
    most_viewed = _top_articles(
        session,
        func.sum(ArticleViewCount.views),
        ArticleViewCount.article_id,
        _between(ArticleViewCount.hour, scope),
        limit,
    )
    yes = func.sum(case((ArticleVote.helpful, 1), else_=0))
    no = func.sum(case((ArticleVote.helpful, 0), else_=1))
    votes = (
        select(*_ARTICLE, yes, no)
        .select_from(ArticleVote)
        .join(Article, Article.id == ArticleVote.article_id)
        .where(_between(ArticleVote.created_at, scope))
        .group_by(*_ARTICLE)
    )

    def articles(query) -> list[ArticleFigure]:
        return [
            ArticleFigure(i, title, language, slug, helpful=int(y), not_helpful=int(n))
            for i, title, language, slug, y, n in session.execute(query.limit(limit))
        ]

    most_helpful = articles(votes.having(yes > 0).order_by(yes.desc(), no, Article.id))
    least_helpful = articles(votes.having(no > 0).order_by(no.desc(), yes, Article.id))
    searches = unanswered_searches(session, scope, limit * 2)
    return FaqFigures(
        most_viewed, most_helpful, least_helpful, searches, contact_figures(session, scope, limit)
    )


def unanswered_searches(session: Session, scope: Scope, limit: int) -> list[SearchFigure]:
    """The content gap: queries whose searches found nothing or nothing the visitor
    opened, those that found nothing most often first."""
    total = func.sum(SearchCount.searches)
    empty = func.sum(SearchCount.empty_searches)
    opened = func.sum(SearchCount.opened_searches)
    return [
        SearchFigure(query, int(searches), int(n), int(o))
        for query, searches, n, o in session.execute(
            select(SearchCount.query, total, empty, opened)
            .where(_between(SearchCount.hour, scope))
            .group_by(SearchCount.query)
            .having(total - opened > 0)
            .order_by(empty.desc(), (total - opened).desc(), SearchCount.query)
            .limit(limit)
        )
    ]


_ARTICLE = (Article.id, Article.title, Article.language, Article.slug)


def _top_articles(session: Session, count, article_id, in_range, limit: int) -> list[ArticleFigure]:
    """Articles ranked by `count` over the rows (of `article_id`'s table) in the range."""
    return [
        ArticleFigure(i, title, language, slug, views=int(n))
        for i, title, language, slug, n in session.execute(
            select(*_ARTICLE, count)
            .select_from(article_id.table)
            .join(Article, Article.id == article_id)
            .where(in_range)
            .group_by(*_ARTICLE)
            .order_by(count.desc(), Article.id)
            .limit(limit)
        )
    ]


def contact_figures(session: Session, scope: Scope, limit: int = TOP) -> ContactFigures:
    submissions = session.scalar(
        select(func.count()).where(
            RawMessage.source == RawSource.form,
            RawMessage.status == RawStatus.ingested,
            _between(RawMessage.received_at, scope),
        )
    )
    after = session.scalar(
        select(func.count()).where(
            _between(ContactAfterFaq.created_at, scope), ContactAfterFaq.articles_read > 0
        )
    )
    before = _top_articles(
        session,
        func.count(),
        ContactAfterFaq.last_article_id,
        _between(ContactAfterFaq.created_at, scope),
        limit,
    )
    return ContactFigures(int(submissions or 0), int(after or 0), before)
