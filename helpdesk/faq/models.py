"""FAQ articles, their categories and edit history, visitor votes, the search index, and
the help-centre visits counted for the dashboard."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.db import Base, UTCDateTime, utcnow


class ArticleStatus(enum.StrEnum):
    draft = "draft"
    published = "published"


class ArticleLanguage(enum.StrEnum):
    ko = "ko"
    en = "en"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, validate_strings=True)


class Category(Base):
    __tablename__ = "faq_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class Article(Base):
    __tablename__ = "faq_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(120))
    language: Mapped[ArticleLanguage] = mapped_column(_enum(ArticleLanguage))
    status: Mapped[ArticleStatus] = mapped_column(_enum(ArticleStatus), default=ArticleStatus.draft)
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown as the author wrote it
    # Derived on every save: the sanitized page HTML and the plain text that snippets,
    # meta descriptions and inserted answers are cut from.
    body_html: Mapped[str] = mapped_column(Text, default="")
    body_plain: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("faq_categories.id", ondelete="SET NULL"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    helpful_yes: Mapped[int] = mapped_column(Integer, default=0)
    helpful_no: Mapped[int] = mapped_column(Integer, default=0)
    used_in_replies: Mapped[int] = mapped_column(Integer, default=0)
    resolved_tickets: Mapped[int] = mapped_column(Integer, default=0)
    # Sum of the article's index weights: the document length in BM25.
    search_length: Mapped[float] = mapped_column(Float, default=0.0)

    category: Mapped[Category | None] = relationship()

    __table_args__ = (
        UniqueConstraint("language", "slug"),
        Index("ix_faq_articles_status_language", "status", "language"),
        # Covers the corpus statistics every search reads (count and average length).
        Index("ix_faq_articles_status_search_length", "status", "search_length"),
    )


class ArticleRevision(Base):
    """One saved version of an article: every save adds one, so no edit loses the last."""

    __tablename__ = "faq_article_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("faq_articles.id", ondelete="CASCADE"), index=True
    )
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)


class ArticleVote(Base):
    """A visitor's answer to "Was this helpful?"; the unique key makes it one per visitor."""

    __tablename__ = "faq_article_votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("faq_articles.id", ondelete="CASCADE"))
    visitor_id: Mapped[str] = mapped_column(String(64))
    helpful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("article_id", "visitor_id"),)


class ArticleUse(Base):
    """An agent inserted the article into a reply on a ticket; resolution is counted once."""

    __tablename__ = "faq_article_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("faq_articles.id", ondelete="CASCADE"), index=True
    )
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolution_counted: Mapped[bool] = mapped_column(Boolean, default=False)


class SearchTerm(Base):
    """The inverted index of published articles: how much a term weighs in an article.

    Terms carry a kind prefix: ``w:`` stemmed Latin word, ``k:`` Hangul bigram (or a
    one-syllable word), ``t:`` Latin character trigram.
    """

    __tablename__ = "faq_search_terms"

    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("faq_articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    weight: Mapped[float] = mapped_column(Float)
    # The article's search_length again, so ranking never has to join the articles.
    doc_length: Mapped[float] = mapped_column(Float)

    # Clustered on (term, article_id) in SQLite: a term's postings are read in one sweep.
    __table_args__ = {"sqlite_with_rowid": False}


class SearchVocabulary(Base):
    """Every indexed term with the number of articles that contain it.

    Kept by index_article, so ranking reads a term's document frequency with one key
    lookup instead of counting its postings, and typo matching scans distinct terms only.
    """

    __tablename__ = "faq_search_vocabulary"

    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    documents: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = {"sqlite_with_rowid": False}


class SearchStats(Base):
    """Corpus figures BM25 needs on every query, kept up to date by index_article."""

    __tablename__ = "faq_search_stats"

    id: Mapped[int] = mapped_column(primary_key=True)
    articles: Mapped[int] = mapped_column(Integer, default=0)
    total_length: Mapped[float] = mapped_column(Float, default=0.0)


# --- help-centre visits, counted for the dashboard -----------------------------------
# What the help centre records for the dashboard that no other table holds: article views
# and customer searches counted per hour, and which articles a visitor read before writing
# through the contact form.
#
# Counts are kept per hour (not one row per visit) so a year of traffic stays small and a
# 90-day sum reads a few thousand rows; an hour bucket also lets a date range in any time
# zone with a whole-hour offset be summed exactly.

MAX_QUERY_LENGTH = 200


class ArticleViewCount(Base):
    """Public page views of an article by visitors (staff are not counted) in one hour."""

    __tablename__ = "dashboard_article_views"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("faq_articles.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    views: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_dashboard_article_views_hour", "hour", "article_id", "views"),)


class SearchCount(Base):
    """Public FAQ searches of one normalized query in one hour: how many found nothing,
    and of those that found articles, after how many the visitor opened one."""

    __tablename__ = "dashboard_faq_searches"

    query: Mapped[str] = mapped_column(String(MAX_QUERY_LENGTH), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)
    searches: Mapped[int] = mapped_column(Integer, default=0)
    empty_searches: Mapped[int] = mapped_column(Integer, default=0)
    opened_searches: Mapped[int] = mapped_column(Integer, default=0)


class ContactAfterFaq(Base):
    """One contact-form submission that made or joined a ticket, with what the visitor
    read first: `articles_read` articles in this browser session, the last of them
    `last_article_id` (both empty when the visitor came straight to the form)."""

    __tablename__ = "dashboard_faq_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    articles_read: Mapped[int] = mapped_column(Integer, default=0)
    last_article_id: Mapped[int | None] = mapped_column(
        ForeignKey("faq_articles.id", ondelete="SET NULL")
    )
