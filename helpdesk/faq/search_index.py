"""The FAQ's inverted index: `faq_search_terms` rows per published article, with the
document frequencies in `faq_search_vocabulary` and the corpus size in `faq_search_stats`
kept current as articles are saved."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from helpdesk.db import chunks
from helpdesk.faq.models import (
    Article,
    ArticleStatus,
    SearchStats,
    SearchTerm,
    SearchVocabulary,
)
from helpdesk.faq.text_analysis import document_terms


def index_article(session: Session, article: Article) -> None:
    """Replace the article's index rows; call inside the transaction that saves it.

    Only published articles are indexed, so searching needs no join to filter drafts.
    """
    session.flush()
    old = set(session.scalars(select(SearchTerm.term).where(SearchTerm.article_id == article.id)))
    old_length = session.scalar(
        select(SearchTerm.doc_length).where(SearchTerm.article_id == article.id).limit(1)
    )
    session.execute(delete(SearchTerm).where(SearchTerm.article_id == article.id))
    terms = {
        t[:64]: w
        for t, w in document_terms(article.title, article.body_plain, article.tags or []).items()
    }
    length = sum(w for t, w in terms.items() if not t.startswith("t:"))
    article.search_length = length
    if article.status != ArticleStatus.published:
        terms = {}
    if terms:
        # Core insert: the ORM's bulk path does per-row work this table does not need.
        session.connection().execute(
            insert(SearchTerm.__table__),
            [
                {"term": t, "article_id": article.id, "weight": w, "doc_length": length}
                for t, w in terms.items()
            ],
        )
    _update_vocabulary(session, added=set(terms) - old, removed=old - set(terms))
    _update_stats(
        session,
        articles=bool(terms) - bool(old),
        length=(length if terms else 0.0) - (old_length or 0.0),
    )


def _update_stats(session: Session, *, articles: int, length: float) -> None:
    if not articles and not length:
        return
    statement = _dialect_insert(session)(SearchStats).values(
        id=1, articles=articles, total_length=length
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[SearchStats.id],
            set_={
                "articles": SearchStats.articles + articles,
                "total_length": SearchStats.total_length + length,
            },
        )
    )


def _dialect_insert(session: Session):
    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _update_vocabulary(session: Session, *, added: set[str], removed: set[str]) -> None:
    # Sorted, so two concurrent saves lock shared terms in the same order (no deadlock).
    for chunk in chunks(sorted(removed)):
        session.execute(
            update(SearchVocabulary)
            .where(SearchVocabulary.term.in_(chunk))
            .values(documents=SearchVocabulary.documents - 1)
            .execution_options(synchronize_session=False)
        )
    dialect_insert = _dialect_insert(session)
    for chunk in chunks(sorted(added)):
        statement = dialect_insert(SearchVocabulary).values(
            [{"term": term, "documents": 1} for term in chunk]
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[SearchVocabulary.term],
                set_={"documents": SearchVocabulary.documents + 1},
            )
        )
