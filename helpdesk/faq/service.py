"""What the FAQ does: articles with their history, categories, votes, and usage counters.

Search itself lives in helpdesk.faq.search; the contact form in helpdesk.inbound.contact.
Functions flush; the caller commits.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import markdown
import nh3
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from helpdesk.auth.models import User
from helpdesk.db import utcnow
from helpdesk.events.service import Subject, record_event
from helpdesk.faq.highlight import excerpt
from helpdesk.faq.models import (
    Article,
    ArticleLanguage,
    ArticleRevision,
    ArticleStatus,
    ArticleUse,
    ArticleVote,
    Category,
)
from helpdesk.faq.search import suggest_articles
from helpdesk.faq.search_index import index_article
from helpdesk.faq.text_analysis import normalize
from helpdesk.normalize import normalize_tags
from helpdesk.text import lazy_text as _l

log = logging.getLogger(__name__)

MAX_TITLE = 200
MAX_SLUG = 120
MAX_BODY = 100_000
MAX_TAGS = 500
VOTES_PER_IP_PER_HOUR = 30

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}}
# Markdown already ends every block with a newline; paragraphs get a blank line more.
_BLOCK_END = re.compile(r"</(p|h[1-6]|pre|blockquote|ul|ol|table)>|<br\s*/?>", re.IGNORECASE)
_LIST_ITEM = re.compile(r"<li>", re.IGNORECASE)
_SLUG_JUNK = re.compile(r"[\W_]+")
_SLUG_VALID = re.compile(r"^[^\W_]+(-[^\W_]+)*$")


class InvalidInput(ValueError):
    """Refused input; ``errors`` maps each offending form field name to its message."""

    def __init__(self, errors: Mapping[str, object]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{key}: {message}" for key, message in self.errors.items()))


class ArticleInvalid(InvalidInput):
    pass


class CategoryInvalid(InvalidInput):
    pass


class ArticleNotFound(LookupError):
    pass


class TicketNotFound(LookupError):
    """A ticket id given to the FAQ's features for tickets names no ticket (raised by
    helpdesk.tickets.suggestions and helpdesk.faq_admin.workspace)."""


class AlreadyVoted(ValueError):
    pass


class RateLimited(Exception):
    """Too many attempts from one IP address or for one email address; try later."""


class RateLimiter:
    """Fixed-window counters in Redis, shared by every web process."""

    def __init__(self, redis: Redis, prefix: str = "faq:ratelimit:"):
        self.redis = redis
        self.prefix = prefix

    def allow(self, key: str, limit: int, window_seconds: int) -> bool:
        name = self.prefix + key
        try:
            pipe = self.redis.pipeline()
            pipe.set(name, 0, ex=window_seconds, nx=True)
            pipe.incr(name)
            _created, count = pipe.execute()
        except RedisError as exc:
            # Spam protection must not take the help pages down with Redis.
            log.warning("rate limit check for %s skipped: %s", key, exc)
            return True
        return count <= limit


# -- rendering ----------------------------------------------------------------------


def render_markdown(body: str) -> tuple[str, str]:
    """Sanitized HTML for the page and plain text for snippets and inserted answers."""
    raw_html = markdown.markdown(body or "", extensions=["extra", "sane_lists"])
    safe_html = nh3.clean(
        raw_html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    spaced = _LIST_ITEM.sub("<li>- ", _BLOCK_END.sub(lambda m: m.group() + "\n", safe_html))
    plain = html.unescape(nh3.clean(spaced, tags=set()))
    plain = re.sub(r"\n{3,}", "\n\n", "\n".join(line.strip() for line in plain.splitlines()))
    return safe_html, plain.strip()


def slugify(text: str) -> str:
    """A readable URL part; Hangul stays Hangul (browsers show it, they only encode it)."""
    slug = _SLUG_JUNK.sub("-", normalize(text)).strip("-")
    return slug[:80].strip("-") or "article"


def detect_language(text: str) -> ArticleLanguage:
    letters = [c for c in text if c.isalpha()]
    hangul = sum(1 for c in letters if "\uac00" <= c <= "\ud7a3")
    return ArticleLanguage.ko if letters and hangul / len(letters) > 0.3 else ArticleLanguage.en


# -- articles -----------------------------------------------------------------------


@dataclass
class ArticleData:
    title: str = ""
    body: str = ""
    language: str = "en"
    status: str = "draft"
    category_id: int | None = None
    tags: str | list[str] = field(default_factory=list)
    slug: str = ""


def _validate(session: Session, data: ArticleData, article_id: int | None) -> dict:
    errors: dict[str, object] = {}
    title = " ".join((data.title or "").split())
    if not title:
        errors["title"] = _l("Give the article a title.")
    elif len(title) > MAX_TITLE:
        errors["title"] = _l("The title can be at most %(n)d characters.", n=MAX_TITLE)
    body = (data.body or "").replace("\r\n", "\n").strip()
    if not body:
        errors["body"] = _l("Write the answer.")
    elif len(body) > MAX_BODY:
        errors["body"] = _l("The answer can be at most %(n)d characters.", n=MAX_BODY)
    if data.language not in ArticleLanguage.__members__:
        errors["language"] = _l("Choose Korean or English.")
    if data.status not in ArticleStatus.__members__:
        errors["status"] = _l("Choose draft or published.")
    if data.category_id is not None and session.get(Category, data.category_id) is None:
        errors["category_id"] = _l("That category does not exist.")
    raw_tags = data.tags if isinstance(data.tags, str) else ", ".join(data.tags)
    if len(raw_tags) > MAX_TAGS:
        errors["tags"] = _l("Tags can be at most %(n)d characters.", n=MAX_TAGS)
    slug = ""
    if data.slug.strip():
        slug = data.slug.strip().lower()
        if len(slug) > MAX_SLUG or not _SLUG_VALID.match(slug):
            errors["slug"] = _l("Use letters, digits and single hyphens, like how-to-get-a-refund.")
        elif "language" not in errors and _slug_taken(session, data.language, slug, article_id):
            errors["slug"] = _l("Another article in this language already uses this address.")
    if errors:
        raise ArticleInvalid(errors)
    if not slug:
        slug = _free_slug(session, data.language, slugify(title), article_id)
    return {
        "title": title,
        "body": body,
        "language": ArticleLanguage(data.language),
        "status": ArticleStatus(data.status),
        "category_id": data.category_id,
        "tags": normalize_tags(raw_tags),
        "slug": slug,
    }


def _slug_taken(session: Session, language: str, slug: str, article_id: int | None) -> bool:
    query = select(Article.id).where(Article.language == language, Article.slug == slug)
    if article_id is not None:
        query = query.where(Article.id != article_id)
    return session.scalars(query).first() is not None


def _free_slug(session: Session, language: str, base: str, article_id: int | None) -> str:
    slug, number = base, 1
    while _slug_taken(session, language, slug, article_id):
        number += 1
        slug = f"{base[: MAX_SLUG - 8]}-{number}"
    return slug


def _apply(session: Session, article: Article, values: dict, editor_id: int | None) -> None:
    for name, value in values.items():
        setattr(article, name, value)
    article.body_html, article.body_plain = render_markdown(article.body)
    article.updated_at = utcnow()
    session.add(
        ArticleRevision(
            article_id=article.id,
            editor_id=editor_id,
            created_at=article.updated_at,
            title=article.title,
            body=article.body,
        )
    )
    index_article(session, article)


def create_article(session: Session, data: ArticleData, author_id: int | None) -> Article:
    values = _validate(session, data, None)
    article = Article(author_id=author_id, created_at=utcnow(), **values)
    session.add(article)
    try:
        session.flush()
    except IntegrityError:
        # Two authors took the same address at the same moment.
        session.rollback()
        raise ArticleInvalid(
            {"slug": _l("Another article in this language already uses this address.")}
        ) from None
    _apply(session, article, {}, author_id)
    if article.status == ArticleStatus.published:
        _record_published(session, article)
    return article


def update_article(
    session: Session, article_id: int, data: ArticleData, editor_id: int | None
) -> Article:
    """Save a new version; the one before stays in the history."""
    # The row lock serializes two saves of one article, so their index rewrites never mix.
    article = session.get(Article, article_id, with_for_update=True)
    if article is None:
        raise ArticleNotFound(article_id)
    values = _validate(session, data, article_id)
    was_published = article.status == ArticleStatus.published
    _apply(session, article, values, editor_id)
    if article.status == ArticleStatus.published and not was_published:
        _record_published(session, article)
    return article


def _record_published(session: Session, article: Article) -> None:
    record_event(
        session,
        "faq.article_published",
        Subject("faq_article", article.id),
        {
            "article_id": article.id,
            "title": article.title,
            "slug": article.slug,
            "language": str(article.language),
        },
    )


def publish_article(session: Session, article_id: int, editor_id: int | None) -> Article:
    """Publish the article as it stands (a save like any other, kept in the history)."""
    article = session.get(Article, article_id)
    if article is None:
        raise ArticleNotFound(article_id)
    data = article_data(article)
    data.status = ArticleStatus.published.value
    return update_article(session, article_id, data, editor_id)


def get_article(session: Session, article_id: int) -> Article | None:
    return session.get(Article, article_id)


def article_data(article: Article) -> ArticleData:
    return ArticleData(
        title=article.title,
        body=article.body,
        language=str(article.language),
        status=str(article.status),
        category_id=article.category_id,
        tags=", ".join(article.tags or []),
        slug=article.slug,
    )


def list_revisions(session: Session, article_id: int) -> list[ArticleRevision]:
    return list(
        session.scalars(
            select(ArticleRevision)
            .where(ArticleRevision.article_id == article_id)
            .order_by(ArticleRevision.created_at.desc(), ArticleRevision.id.desc())
        )
    )


def editor_names(session: Session, user_ids) -> dict[int, str]:
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


STAFF_SORTS = {
    "updated": (Article.updated_at.desc(), Article.id.desc()),
    "title": (Article.title, Article.id),
    "used": (Article.used_in_replies.desc(), Article.id.desc()),
    "resolved": (Article.resolved_tickets.desc(), Article.id.desc()),
    "helpful": ((Article.helpful_yes - Article.helpful_no).desc(), Article.id.desc()),
}


@dataclass(frozen=True)
class ArticleFilter:
    text: str = ""
    language: str = ""
    status: str = ""
    category_id: int | None = None
    sort: str = "updated"


def list_articles(
    session: Session, flt: ArticleFilter, *, offset: int = 0, limit: int = 25
) -> tuple[list[Article], int]:
    query = select(Article)
    if flt.text:
        pattern = "%" + flt.text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
        query = query.where(func.lower(Article.title).like(pattern.lower() + "%", escape="\\"))
    if flt.language in ArticleLanguage.__members__:
        query = query.where(Article.language == flt.language)
    if flt.status in ArticleStatus.__members__:
        query = query.where(Article.status == flt.status)
    if flt.category_id is not None:
        query = query.where(Article.category_id == flt.category_id)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    order = STAFF_SORTS.get(flt.sort, STAFF_SORTS["updated"])
    articles = session.scalars(
        query.options(selectinload(Article.category)).order_by(*order).offset(offset).limit(limit)
    )
    return list(articles), total


def articles_after(
    session: Session, flt: ArticleFilter, after_id: int, limit: int
) -> list[Article]:
    """Articles by language, status and category in id order after `after_id`: pages
    that neither skip nor repeat an article when articles are added meanwhile."""
    query = select(Article).where(Article.id > after_id)
    if flt.language:
        query = query.where(Article.language == flt.language)
    if flt.status:
        query = query.where(Article.status == flt.status)
    if flt.category_id is not None:
        query = query.where(Article.category_id == flt.category_id)
    return list(session.scalars(query.order_by(Article.id).limit(limit)))


# -- categories ---------------------------------------------------------------------


def list_categories(session: Session) -> list[Category]:
    return list(session.scalars(select(Category).order_by(Category.position, Category.name)))


def save_category(
    session: Session,
    name: str,
    position: int = 0,
    description: str = "",
    category_id: int | None = None,
) -> Category:
    name = " ".join((name or "").split())
    errors: dict[str, object] = {}
    if not name:
        errors["name"] = _l("Give the category a name.")
    elif len(name) > 200:
        errors["name"] = _l("The name can be at most %(n)d characters.", n=200)
    if len(description or "") > 500:
        errors["description"] = _l("The description can be at most %(n)d characters.", n=500)
    if errors:
        raise CategoryInvalid(errors)
    category = session.get(Category, category_id) if category_id else Category()
    if category is None:
        raise LookupError(category_id)
    category.name, category.position, category.description = name, position, description or ""
    session.add(category)
    session.flush()
    return category


# -- public pages -------------------------------------------------------------------


def _published(language: str | None = None):
    query = select(Article).where(Article.status == ArticleStatus.published)
    return query.where(Article.language == language) if language else query


def published_article(session: Session, language: str, slug: str) -> Article | None:
    return session.scalars(
        _published(language).where(Article.slug == slug).options(selectinload(Article.category))
    ).first()


def published_article_by_id(session: Session, article_id: int) -> Article | None:
    return session.scalars(_published().where(Article.id == article_id)).first()


@dataclass(frozen=True)
class CategorySection:
    category: Category | None
    articles: list[Article]
    total: int


def category_sections(session: Session, language: str, per_category: int = 6):
    """Categories in their order, each with its first articles in that language."""
    sections = []
    for category in [*list_categories(session), None]:
        query = _published(language).where(
            Article.category_id == category.id if category else Article.category_id.is_(None)
        )
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        if total:
            articles = session.scalars(query.order_by(Article.title).limit(per_category))
            sections.append(CategorySection(category, list(articles), total))
    return sections


def category_articles(
    session: Session, category_id: int, language: str, *, offset: int, limit: int
) -> tuple[list[Article], int]:
    query = _published(language).where(Article.category_id == category_id)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    articles = session.scalars(query.order_by(Article.title).offset(offset).limit(limit))
    return list(articles), total


def most_helpful(session: Session, language: str, limit: int = 5) -> list[Article]:
    return list(
        session.scalars(
            _published(language)
            .where(Article.helpful_yes > 0)
            .order_by(
                (Article.helpful_yes - Article.helpful_no).desc(),
                Article.helpful_yes.desc(),
                Article.id,
            )
            .limit(limit)
        )
    )


def related_articles(session: Session, article: Article, limit: int = 4) -> list[Article]:
    """Articles on the same subject (by search), topped up from the same category."""
    text = f"{article.title} {' '.join(article.tags or [])} {article.body_plain[:300]}"
    ids = [
        s.article_id
        for s in suggest_articles(
            session, text, language=str(article.language), limit=limit, exclude_id=article.id
        )
    ]
    related = [session.get(Article, i) for i in ids]
    if len(related) < limit and article.category_id is not None:
        related += session.scalars(
            _published(str(article.language))
            .where(
                Article.category_id == article.category_id,
                Article.id.not_in([article.id, *ids]),
            )
            .order_by(Article.title)
            .limit(limit - len(related))
        )
    return related


def sitemap_entries(session: Session) -> list[tuple[str, str, datetime]]:
    rows = session.execute(
        select(Article.language, Article.slug, Article.updated_at)
        .where(Article.status == ArticleStatus.published)
        .order_by(Article.language, Article.slug)
    )
    return [(str(language), slug, updated) for language, slug, updated in rows]


def meta_description(article: Article) -> str:
    return excerpt(article.body_plain, 155)


# -- votes and counters -------------------------------------------------------------


def cast_vote(
    session: Session,
    article_id: int,
    visitor_id: str,
    helpful: bool,
    *,
    limiter: RateLimiter,
    ip: str,
) -> Article:
    """Record one visitor's answer to "Was this helpful?".

    Raises ArticleNotFound, RateLimited (too many votes from the IP) or AlreadyVoted.
    """
    article = session.get(Article, article_id)
    if article is None or article.status != ArticleStatus.published:
        raise ArticleNotFound(article_id)
    if not limiter.allow(f"vote:ip:{ip}", VOTES_PER_IP_PER_HOUR, 3600):
        raise RateLimited(ip)
    try:
        with session.begin_nested():
            session.add(ArticleVote(article_id=article_id, visitor_id=visitor_id, helpful=helpful))
    except IntegrityError:
        raise AlreadyVoted(article_id) from None
    column = "helpful_yes" if helpful else "helpful_no"
    session.execute(
        update(Article)
        .where(Article.id == article_id)
        .values({column: getattr(Article, column) + 1})
        .execution_options(synchronize_session=False)
    )
    session.refresh(article)
    return article


def has_voted(session: Session, article_id: int, visitor_id: str | None) -> bool:
    if not visitor_id:
        return False
    return (
        session.scalars(
            select(ArticleVote.id).where(
                ArticleVote.article_id == article_id, ArticleVote.visitor_id == visitor_id
            )
        ).first()
        is not None
    )


def record_resolution(session: Session, ticket_id: int) -> list[int]:
    """Credit each article used on the ticket with one resolved ticket, once per ticket.

    Safe to call on every resolution (reopened and resolved again counts nothing new);
    returns the ids of the articles credited now.
    """
    article_ids = session.scalars(
        select(ArticleUse.article_id).where(ArticleUse.ticket_id == ticket_id).distinct()
    ).all()
    credited = []
    for article_id in article_ids:
        counted_before = session.scalars(
            select(ArticleUse.id).where(
                ArticleUse.ticket_id == ticket_id,
                ArticleUse.article_id == article_id,
                ArticleUse.resolution_counted.is_(True),
            )
        ).first()
        # The conditional UPDATE is the claim: of two concurrent calls only one changes rows.
        claimed = session.execute(
            update(ArticleUse)
            .where(
                ArticleUse.ticket_id == ticket_id,
                ArticleUse.article_id == article_id,
                ArticleUse.resolution_counted.is_(False),
            )
            .values(resolution_counted=True)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed and counted_before is None:
            session.execute(
                update(Article)
                .where(Article.id == article_id)
                .values(resolved_tickets=Article.resolved_tickets + 1)
                .execution_options(synchronize_session=False)
            )
            credited.append(article_id)
    session.flush()
    return credited
