"""FAQ search: the inverted index ranked with BM25, for Korean and English.

Text is analysed into terms (text_analysis) once at save time (search_index); a query is
planned into weighted terms, typos included (query_plan). Scores are BM25 with the title
weighing three times the body, summed in the database so only the best rows come back.
A search shows only the articles that contain enough of the query (match_shares), so a
question the FAQ does not answer finds nothing rather than whatever shares a word with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session, defer

from helpdesk.faq.highlight import excerpt, highlight, snippet
from helpdesk.faq.models import Article, ArticleStatus, SearchStats, SearchTerm
from helpdesk.faq.query_plan import QueryPlan, plan_query
from helpdesk.faq.spelling import corrected_query
from helpdesk.faq.text_analysis import analyse

MAX_QUERY_LENGTH = 200
# A ticket can quote a whole mail thread; the opening says what it is about.
MAX_SUGGEST_TEXT = 2000
MAX_SUGGEST_TERMS = 30
SUGGEST_FUZZY_MAX_WORDS = 12
K1 = 1.2
B = 0.75
# Terms in more than this share of articles say almost nothing (idf near zero) but
# would make the posting lists long; they are left out of the scoring.
MAX_DF_SHARE = 0.4
# A search result must contain at least this share of the query (match_shares). Tuned on
# tests/faq/corpus.py: every question there still finds its article, and none of the
# questions about things that FAQ does not cover finds anything.
MIN_MATCH_SHARE = 0.4
# A query word no article contains (a name, a typo with no look-alike, a topic the FAQ
# lacks) counts half: "refund xyzzy" still finds refunds, "car insurance" finds nothing
# just because an article mentions cars.
UNKNOWN_WORD_WEIGHT = 0.5


class SearchQueryInvalid(ValueError):
    """The query cannot be searched; the subclass says why."""


class EmptyQuery(SearchQueryInvalid):
    pass


class QueryTooLong(SearchQueryInvalid):
    pass


@dataclass(frozen=True)
class SearchHit:
    article: Article
    score: float
    title_html: Markup
    snippet_html: Markup


@dataclass(frozen=True)
class Suggestion:
    article_id: int
    title: str
    language: str
    slug: str
    excerpt: str
    answer: str
    score: float

    def to_dict(self) -> dict:
        return {
            "article_id": self.article_id,
            "title": self.title,
            "language": self.language,
            "slug": self.slug,
            "excerpt": self.excerpt,
            "answer": self.answer,
            "score": round(self.score, 4),
        }


def _score(
    session: Session, plan: QueryPlan, *, fetch: int, exclude_id: int | None = None
) -> list[tuple[int, float]]:
    """Article ids with their BM25 scores, best first; the sums are done in the database
    so only the top rows travel back, however many articles share a common term."""
    if not plan.weights:
        return []
    stats = session.get(SearchStats, 1, populate_existing=True)
    if stats is None or stats.articles <= 0:
        return []
    total = stats.articles
    average_length = max(stats.total_length / total, 1.0)
    max_df = max(5, int(total * MAX_DF_SHARE))
    factors = {}
    for term, weight in plan.weights.items():
        df = plan.dfs.get(term, 0)
        if 0 < df <= max_df:
            idf = math.log(1 + (total - df + 0.5) / (df + 0.5))
            factors[term] = weight * idf * (K1 + 1)
    if not factors:
        return []
    # The query terms travel as a VALUES list joined to the index: one lookup per posting,
    # and plain SQL text, which costs nothing to compile however many terms there are.
    params: dict[str, object] = {
        "norm_base": K1 * (1 - B),
        "norm_scale": K1 * B / average_length,
        "fetch": fetch,
        "exclude": exclude_id if exclude_id is not None else -1,
    }
    rows = []
    for number, (term, factor) in enumerate(factors.items()):
        rows.append(f"(:t{number}, CAST(:f{number} AS DOUBLE PRECISION))")
        params[f"t{number}"], params[f"f{number}"] = term, factor
    statement = sql_text(
        f"WITH wanted(term, factor) AS (VALUES {', '.join(rows)}) "
        "SELECT p.article_id, SUM(w.factor * p.weight"
        " / (p.weight + :norm_base + :norm_scale * p.doc_length)) AS score "
        "FROM wanted w JOIN faq_search_terms p ON p.term = w.term "
        "WHERE p.article_id != :exclude "
        "GROUP BY p.article_id ORDER BY score DESC, p.article_id LIMIT :fetch"
    )
    return [(article_id, float(value)) for article_id, value in session.execute(statement, params)]


def _ranked_articles(
    session: Session,
    plan: QueryPlan,
    language: str | None,
    limit: int,
    exclude_id: int | None = None,
) -> list[tuple[Article, float]]:
    # Korean and English terms hardly overlap, so filtering the language after ranking
    # (from a few extra candidates) costs less than joining every posting to its article.
    fetch = limit if not language else limit * 4 + 20
    ranked = _score(session, plan, fetch=fetch, exclude_id=exclude_id)
    articles = _load(session, [article_id for article_id, _ in ranked])
    result = []
    for article_id, value in ranked:
        article = articles.get(article_id)
        if article is None or article.status != ArticleStatus.published:
            continue
        if language and article.language != language:
            continue
        result.append((article, value))
    return result[:limit]


def _validated(query: str) -> str:
    query = (query or "").strip()
    if not query:
        raise EmptyQuery("enter words to search for")
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryTooLong(f"a search can be at most {MAX_QUERY_LENGTH} characters")
    return query


def search_articles(
    session: Session, query: str, language: str | None = None, limit: int = 10
) -> list[SearchHit]:
    """Published articles matching the query, best first, with the matches highlighted.

    Raises EmptyQuery or QueryTooLong for a query that cannot be searched.
    """
    query = _validated(query)
    plan = plan_query(session, analyse(query))
    # Twice the candidates, so results left out for matching too little leave room.
    ranked = _ranked_articles(session, plan, language, limit * 2)
    shares = match_shares(session, plan, [article.id for article, _ in ranked])
    relevant = [(a, value) for a, value in ranked if shares.get(a.id, 0.0) >= MIN_MATCH_SHARE]
    return [
        SearchHit(
            article=article,
            score=value,
            title_html=highlight(article.title, plan),
            snippet_html=snippet(article.body_plain, plan),
        )
        for article, value in relevant[:limit]
    ]


def match_shares(session: Session, plan: QueryPlan, article_ids: list[int]) -> dict[int, float]:
    """How much of the query each article contains, from 0 to 1.

    BM25 ranks articles but has no scale: an article sharing one bigram or a few trigrams
    with the query still scores. Here each query word counts by the share of it the
    article contains, squared, so a word found in part (one bigram of "비밀번호", three
    trigrams of "nothing" in "something") counts for little; a typo's look-alike counts
    as much as it weighs in the ranking.
    """
    if not plan.words or not article_ids:
        return {}
    wanted = sorted({term for word in plan.words for term in word})
    found: dict[int, set[str]] = {}
    for article_id, term in session.execute(
        select(SearchTerm.article_id, SearchTerm.term).where(
            SearchTerm.article_id.in_(article_ids), SearchTerm.term.in_(wanted)
        )
    ):
        found.setdefault(article_id, set()).add(term)
    weights = [1.0 if plan.known(word) else UNKNOWN_WORD_WEIGHT for word in plan.words]
    total = sum(weights)

    def share(terms: set[str]) -> float:
        covered = (
            min(1.0, sum(part for term, part in word.items() if term in terms)) ** 2
            for word in plan.words
        )
        return sum(w * c for w, c in zip(weights, covered, strict=True)) / total

    return {article_id: share(terms) for article_id, terms in found.items()}


def did_you_mean(session: Session, query: str, language: str | None = None) -> str | None:
    """The query with its typos corrected from the FAQ's own words, when that finds
    articles; None for a query that is spelled as the FAQ spells it or cannot be searched."""
    try:
        query = _validated(query)
    except SearchQueryInvalid:
        return None
    corrected = corrected_query(session, query)
    if corrected is None or not search_articles(session, corrected, language, limit=1):
        return None
    return corrected


def suggest_articles(
    session: Session,
    text: str,
    language: str | None = None,
    limit: int = 3,
    exclude_id: int | None = None,
) -> list[Suggestion]:
    """The published articles closest to a customer's message (empty text: none)."""
    words = analyse((text or "")[:MAX_SUGGEST_TEXT])
    if not words:
        return []
    plan = plan_query(
        session, words, max_terms=MAX_SUGGEST_TERMS, fuzzy=len(words) <= SUGGEST_FUZZY_MAX_WORDS
    )
    return [
        Suggestion(
            article_id=article.id,
            title=article.title,
            language=str(article.language),
            slug=article.slug,
            excerpt=excerpt(article.body_plain),
            answer=article.body_plain,
            score=value,
        )
        for article, value in _ranked_articles(session, plan, language, limit, exclude_id)
    ]


def _load(session: Session, ids: list[int]) -> dict[int, Article]:
    if not ids:
        return {}
    # The Markdown source and page HTML are not needed for a result list.
    query = (
        select(Article)
        .where(Article.id.in_(ids))
        .options(defer(Article.body), defer(Article.body_html))
    )
    return {a.id: a for a in session.scalars(query)}
