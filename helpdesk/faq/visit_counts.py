"""Help-centre visits counted for the dashboard: article views and searches per hour (with
the searches that found nothing and those after which a result was opened), and
the articles a visitor read before writing through the contact form. The functions take
a session and do not commit; helpdesk.faq.visits calls them after a public page is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from helpdesk.faq.models import (
    MAX_QUERY_LENGTH,
    Article,
    ArticleViewCount,
    ContactAfterFaq,
    SearchCount,
)


def normalize_query(raw: str) -> str:
    return " ".join((raw or "").split()).lower()[:MAX_QUERY_LENGTH]


def _hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _upsert(session: Session, model, keys: dict, counts: dict) -> None:
    """Add `counts` to the row with `keys`, creating it; one statement, safe under
    concurrency (INSERT … ON CONFLICT DO UPDATE on both databases)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(model).values(**keys, **counts)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: getattr(model, name) + value for name, value in counts.items()},
        )
    )


def record_article_view(session: Session, article_id: int, at: datetime) -> None:
    """Count one visitor's view of an article. Does not commit."""
    _upsert(session, ArticleViewCount, {"article_id": article_id, "hour": _hour(at)}, {"views": 1})


def record_search(session: Session, raw_query: str, found: int, at: datetime) -> None:
    """Count one public search and whether it found nothing. Does not commit."""
    query = normalize_query(raw_query)
    if not query:
        return
    _upsert(
        session,
        SearchCount,
        {"query": query, "hour": _hour(at)},
        {"searches": 1, "empty_searches": 0 if found else 1},
    )


def record_search_opened(session: Session, raw_query: str, at: datetime) -> None:
    """Count that a visitor opened a result of a search made this hour or the one before
    (a search just before the hour is often read after it). Does not commit.

    Never counts more opened searches than searches that found articles, so a made-up
    link cannot hide a content gap.
    """
    query = normalize_query(raw_query)
    unopened = SearchCount.searches - SearchCount.empty_searches > SearchCount.opened_searches
    hour = session.scalar(
        select(SearchCount.hour)
        .where(
            SearchCount.query == query,
            SearchCount.hour.in_([_hour(at), _hour(at) - timedelta(hours=1)]),
            unopened,
        )
        .order_by(SearchCount.hour.desc())
        .limit(1)
    )
    if hour is None:
        return
    session.execute(
        update(SearchCount)
        .where(SearchCount.query == query, SearchCount.hour == hour, unopened)
        .values(opened_searches=SearchCount.opened_searches + 1)
        .execution_options(synchronize_session=False)
    )


def record_contact(
    session: Session, ticket_id: int | None, articles_read: Sequence[int], at: datetime
) -> None:
    """Note a contact-form ticket and the articles read before it. Does not commit."""
    last = articles_read[-1] if articles_read else None
    if last is not None and session.get(Article, last) is None:
        last = None
    session.add(
        ContactAfterFaq(
            ticket_id=ticket_id,
            created_at=at,
            articles_read=len(articles_read),
            last_article_id=last,
        )
    )
