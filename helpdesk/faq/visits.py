"""What visitors do in the public help centre, counted for the dashboard.

The help centre's views call these once their page is built. The writes wait on `g` and
are made after the response is ready (`write_pending`, which the help centre's blueprint
runs after every request) in the request's own session; a failed write is logged and
never costs a visitor the page. Staff browsing the public pages are not counted, and
neither is a HEAD request: link checkers, crawlers and prefetchers send those, and nobody
reads the page.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime

from flask import g, request, session
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from helpdesk.db import utcnow
from helpdesk.faq import visit_counts
from helpdesk.web import db_session

log = logging.getLogger(__name__)

# The articles this browser read, remembered in its session cookie until it writes to us.
FAQ_READ_KEY = "dashboard_faq_read"
MAX_REMEMBERED_ARTICLES = 20
# The searches whose result this browser opened, so each counts as opened once.
FAQ_OPENED_KEY = "dashboard_faq_opened"
MAX_REMEMBERED_SEARCHES = 10


def _counted() -> bool:
    return not current_user.is_authenticated and request.method != "HEAD"


def _count(write: Callable[[Session], None]) -> None:
    if _counted():
        g.setdefault("help_centre_writes", []).append(write)


def article_viewed(article_id: int, from_search: str | None = None) -> None:
    """An article page was read; `from_search` is the query whose result list linked it."""
    at = utcnow()
    _count(lambda db: visit_counts.record_article_view(db, article_id, at))
    if _counted():
        read = [i for i in session.get(FAQ_READ_KEY, []) if i != article_id]
        session[FAQ_READ_KEY] = [*read, article_id][-MAX_REMEMBERED_ARTICLES:]
        if from_search:
            _search_result_opened(from_search, at)


def _search_result_opened(raw_query: str, at: datetime) -> None:
    # Opening a second result of the same search (or reloading) says nothing new. The
    # cookie keeps a short digest: a Korean query escaped in JSON would fill it quickly.
    query = visit_counts.normalize_query(raw_query)
    digest = hashlib.sha256(query.encode()).hexdigest()[:16]
    opened = [d for d in session.get(FAQ_OPENED_KEY, []) if isinstance(d, str)]
    if not query or digest in opened:
        return
    session[FAQ_OPENED_KEY] = [*opened, digest][-MAX_REMEMBERED_SEARCHES:]
    _count(lambda db: visit_counts.record_search_opened(db, query, at))


def searched(query: str, found: int) -> None:
    at = utcnow()
    _count(lambda db: visit_counts.record_search(db, query, found, at))


def contact_sent(ticket_id: int) -> None:
    """A contact-form ticket, with the articles this browser read before writing."""
    if current_user.is_authenticated:
        return
    read = [i for i in session.pop(FAQ_READ_KEY, []) if isinstance(i, int)]
    at = utcnow()
    _count(lambda db: visit_counts.record_contact(db, ticket_id, read, at))


def write_pending(response):
    writes = g.pop("help_centre_writes", None)
    if not writes or response.status_code >= 400:
        return response
    db = db_session()
    try:
        for write in writes:
            write(db)
        db.commit()
    except SQLAlchemyError:
        db.rollback()
        log.exception("could not record help-centre activity")
    return response
