"""FAQ search: an inverted index kept in the database, ranked with BM25, for Korean and English.

The databases' own full-text search splits Korean at spaces, and Korean writes a noun and
its particle together ("환불은", "환불을", "환불이"), so "환불" would find none of them.
Here text is analysed once at save time into terms stored in `faq_search_terms`:

- Hangul words lose common particles and endings and become character bigrams, which
  match whatever the word is glued to (bigrams of the whole word are kept at half
  weight, since stripping can cut too much). A one-syllable stem is kept as a unigram.
- Latin words are reduced to their Snowball English stem ("refunds" -> "refund"), and
  their character trigrams are indexed for words with no exact match.
- A query word that matches nothing is treated as a likely typo: it is compared with
  the terms in `faq_search_vocabulary` that share its first letter (Hangul by its jamo),
  edit distance one or two, before falling back to trigrams.

Scores are BM25 with the title weighing three times the body, summed in the database so
only the best rows come back; document frequencies and corpus size are kept current in
`faq_search_vocabulary` and `faq_search_stats` by `index_article`. Highlighting escapes
the text and wraps only the matched words in <mark>, so nothing in a query or an article
becomes markup.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer
from markupsafe import Markup, escape
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, defer

from helpdesk.db import chunks
from helpdesk.faq.models import (
    Article,
    ArticleStatus,
    SearchStats,
    SearchTerm,
    SearchVocabulary,
)

MAX_QUERY_LENGTH = 200
# A ticket can quote a whole mail thread; the opening says what it is about.
MAX_SUGGEST_TEXT = 2000
MAX_SUGGEST_TERMS = 30
# Typo look-ups per query; a long message has enough correctly spelled words.
MAX_FUZZY_WORDS = 6
SUGGEST_FUZZY_MAX_WORDS = 12
TITLE_BOOST = 3.0
TAG_BOOST = 2.0
K1 = 1.2
B = 0.75
# Terms in more than this share of articles say almost nothing (idf near zero) but
# would make the posting lists long; they are left out of the scoring.
MAX_DF_SHARE = 0.4
FUZZY_WEIGHT = 0.7
TRIGRAM_WEIGHT = 0.6
SNIPPET_CHARS = 220

_BIGRAM_SCRIPT = "\uac00-\ud7a3\u3040-\u30ff\u4e00-\u9fff"
_WORD = re.compile(rf"[{_BIGRAM_SCRIPT}]+|[^\W_{_BIGRAM_SCRIPT}]+")
_BIGRAM_START = re.compile(rf"[{_BIGRAM_SCRIPT}]")
_MAX_WORD = 40


def _words(text: str) -> list[str]:
    return text.split()


_EN_STOPWORDS = frozenset(
    _words(
        """a an and are as at be been but by can could do does did for from had has have how
    i if in into is it its me my no not of on or our so that the their them then there
    these they this to us was we were what when where which who why will with would you
    your yours am any i'm im"""
    )
)
# Question words and fillers that every Korean question carries.
_KO_STOPWORDS = frozenset(
    _words(
        "어떻게 어떤 무엇 뭐 왜 언제 어디 어디서 제가 저는 제 저 그리고 그런데 하지만 혹시 좀 "
        "수 있나요 있나 있어요 있을까요 없나요 하나요 되나요 싶어요 싶은데 싶습니다 안녕하세요 "
        "문의 문의드립니다 부탁드립니다 감사합니다"
    )
)
# Particles and endings; the longest that fits is removed, so "에서는" goes before "는".
_KO_SUFFIXES = frozenset(
    _words(
        """은 는 이 가 을 를 에 의 도 만 와 과 로 으로 에서 에게 께 께서 한테 까지 부터
            보다 처럼 이나 나 랑 이랑 라도 이라도 에는 에서는 으로는 로는 에도 에서도 와는
            과는 마다 조차 밖에 이요 요 이란 란 이며 며 이고 고 이에요 예요 이죠 죠 이라
            습니다 합니다 입니다 됩니다 했습니다 됐습니다 니다 해요 돼요 했어요 됐어요
            해야 해야하나요 하나요 되나요 있나요 없나요 인가요 할까요 될까요 하려면 되려면
            하려고 하는데 했는데 되는데 하면 되면 하고 되고 해주세요 주세요 하세요 하는 되는
            하는법 하는방법 방법은 하기 되지 않아요 않나요 안돼요 안되요 나요 가요 까요 어요
            아요 세요 려면 으려면 는데 은데 을까요 할 한 된 됨 함 해서 돼서 했고 했다 하다
            되다 받으려면 받을 받고 받나요"""
    )
)
_KO_LONGEST_SUFFIX = max(len(suffix) for suffix in _KO_SUFFIXES)
_KO_MIN_STEM = 2

_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=20_000)
def _stem(word: str) -> str:
    return _stemmer.stemWord(word)


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


@lru_cache(maxsize=50_000)
def strip_korean_suffixes(word: str) -> str:
    """Remove up to two particles/endings, never leaving less than two syllables."""
    for _ in range(2):
        for size in range(min(_KO_LONGEST_SUFFIX, len(word) - _KO_MIN_STEM), 0, -1):
            if word[-size:] in _KO_SUFFIXES:
                word = word[:-size]
                break
        else:
            break
    return word


def _bigrams(word: str) -> list[str]:
    if len(word) == 1:
        return [word]
    return [word[i : i + 2] for i in range(len(word) - 1)]


def _trigrams(word: str) -> list[str]:
    padded = f" {word} "
    return [padded[i : i + 3] for i in range(len(padded) - 2)]


@dataclass
class Word:
    """One word of analysed text: its kind, its index terms, and what to highlight."""

    surface: str
    latin: bool
    stem: str
    terms: dict[str, float] = field(default_factory=dict)


def analyse(text: str) -> list[Word]:
    words = []
    for match in _WORD.finditer(normalize(text)):
        token = match.group()
        if len(token) > _MAX_WORD:
            continue
        if _BIGRAM_START.match(token):
            if token in _KO_STOPWORDS:
                continue
            stem = strip_korean_suffixes(token)
            if stem in _KO_STOPWORDS:
                continue
            terms = {f"k:{g}": 1.0 for g in _bigrams(stem)}
            for gram in _bigrams(token):
                terms.setdefault(f"k:{gram}", 0.5)
            words.append(Word(token, False, stem, terms))
        else:
            if token in _EN_STOPWORDS:
                continue
            stem = _stem(token)
            words.append(Word(token, True, stem, {f"w:{stem}": 1.0}))
    return words


def document_terms(title: str, body: str, tags: list[str]) -> dict[str, float]:
    """Index weights of an article: body counts once, tags twice, the title three times."""
    weights: Counter[str] = Counter()
    for part, boost in ((title, TITLE_BOOST), (" ".join(tags), TAG_BOOST), (body, 1.0)):
        for word in analyse(part):
            for term, weight in word.terms.items():
                weights[term] += weight * boost
            if word.latin and len(word.surface) >= 4:
                for gram in set(_trigrams(word.surface)):
                    weights[f"t:{gram}"] += 0.2 * boost
    return dict(weights)


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


# -- querying -----------------------------------------------------------------------


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


@dataclass
class _Plan:
    """Weighted query terms plus what to highlight for them."""

    weights: dict[str, float] = field(default_factory=dict)
    dfs: dict[str, int] = field(default_factory=dict)
    latin_stems: set[str] = field(default_factory=set)
    hangul_marks: set[str] = field(default_factory=set)

    def add(self, term: str, weight: float, df: int | None = None) -> None:
        self.weights[term] = max(weight, self.weights.get(term, 0.0))
        if df is not None:
            self.dfs[term] = df


def _jamo(text: str) -> str:
    """Hangul syllables spelled out as jamo, so "뷸" and "불" differ by one letter."""
    out = []
    for char in text:
        code = ord(char) - 0xAC00
        if 0 <= code < 11172:
            out.append(chr(0x1100 + code // 588))
            out.append(chr(0x1161 + (code % 588) // 28))
            if code % 28:
                out.append(chr(0x11A7 + code % 28))
        else:
            out.append(char)
    return "".join(out)


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (a swap counts as one edit), capped at limit + 1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _document_frequencies(session: Session, terms) -> dict[str, int]:
    terms = list(terms)
    if not terms:
        return {}
    rows = session.execute(
        select(SearchVocabulary.term, SearchVocabulary.documents).where(
            SearchVocabulary.term.in_(terms), SearchVocabulary.documents > 0
        )
    )
    return {term: count for term, count in rows}


def _terms_with_prefixes(session: Session, prefixes: set[str]) -> dict[str, int]:
    """Vocabulary terms starting with any of the prefixes, read in one round trip."""
    if not prefixes:
        return {}
    # Ranges on the primary key read only those slices of the vocabulary.
    ranges = [
        (SearchVocabulary.term >= prefix)
        & (SearchVocabulary.term < prefix[:-1] + chr(ord(prefix[-1]) + 1))
        for prefix in sorted(prefixes)
    ]
    rows = session.execute(
        select(SearchVocabulary.term, SearchVocabulary.documents).where(
            or_(*ranges), SearchVocabulary.documents > 0
        )
    )
    return {term: count for term, count in rows if term[:3] in prefixes}


def _fuzzy_matches(kind: str, target: str, vocabulary: dict[str, int]) -> list[tuple[str, int]]:
    """Vocabulary terms one or two edits from `target` that share its first letter."""
    if kind == "w":
        limit = 1 if len(target) <= 5 else 2
        compare, key = target, lambda t: t
    else:
        limit = 1
        compare, key = _jamo(target), _jamo
    prefix = f"{kind}:{target[0]}"
    found = []
    for term, df in vocabulary.items():
        value = term[2:]
        if (
            term.startswith(prefix)
            and value != target
            and edit_distance(compare, key(value), limit) <= limit
        ):
            found.append((term, df))
    return found


def _plan(
    session: Session, words: list[Word], max_terms: int | None = None, fuzzy: bool = True
) -> _Plan:
    plan = _Plan()
    direct: dict[str, float] = {}
    for word in words:
        for term, weight in word.terms.items():
            direct[term] = direct.get(term, 0.0) + weight
    dfs = _document_frequencies(session, direct)

    # Words that match nothing are likely typos; their look-alikes are fetched together.
    unknown: list[tuple[str, str]] = []
    for word in words:
        if word.latin:
            if not dfs.get(f"w:{word.stem}") and len(word.stem) >= 3:
                unknown.append(("w", word.stem))
        else:
            unknown += [
                ("k", t[2:])
                for t, w in word.terms.items()
                if w == 1.0 and len(t) == 4 and not dfs.get(t)
            ]
    unknown = unknown[:MAX_FUZZY_WORDS] if fuzzy else []
    vocabulary = _terms_with_prefixes(session, {f"{kind}:{value[0]}" for kind, value in unknown})
    look_alikes = {
        (kind, value): _fuzzy_matches(kind, value, vocabulary) for kind, value in unknown
    }

    trigram_words = [
        word
        for word in words
        if word.latin
        and not dfs.get(f"w:{word.stem}")
        and not look_alikes.get(("w", word.stem))
        and len(word.surface) >= 4
        and fuzzy
    ]
    gram_dfs = _document_frequencies(
        session, {f"t:{g}" for word in trigram_words for g in _trigrams(word.surface)}
    )

    for word in words:
        if word.latin:
            term = f"w:{word.stem}"
            if dfs.get(term):
                plan.add(term, direct[term], dfs[term])
                plan.latin_stems.add(word.stem)
                continue
            for fuzzy_term, df in look_alikes.get(("w", word.stem), []):
                plan.add(fuzzy_term, FUZZY_WEIGHT, df)
                plan.latin_stems.add(fuzzy_term[2:])
            if word in trigram_words:
                grams = _trigrams(word.surface)
                for gram in grams:
                    term = f"t:{gram}"
                    plan.add(term, TRIGRAM_WEIGHT * 3 / len(grams), gram_dfs.get(term, 0))
            continue
        known_stem_grams = 0
        for term, weight in word.terms.items():
            if dfs.get(term):
                plan.add(term, direct[term] * weight, dfs[term])
                if weight == 1.0:
                    known_stem_grams += 1
                    plan.hangul_marks.add(term[2:])
            else:
                for fuzzy_term, df in look_alikes.get(("k", term[2:]), []):
                    plan.add(fuzzy_term, FUZZY_WEIGHT, df)
                    plan.hangul_marks.add(fuzzy_term[2:])
        if known_stem_grams and known_stem_grams == len(_bigrams(word.stem)):
            plan.hangul_marks.add(word.stem)
    if max_terms is not None and len(plan.weights) > max_terms:
        # Long texts: keep the rarest terms, which are the ones that say what it is about.
        keep = sorted(plan.weights, key=lambda t: (plan.dfs.get(t) or 10**9, t))[:max_terms]
        plan.weights = {t: plan.weights[t] for t in keep}
    return plan


def _score(
    session: Session, plan: _Plan, *, fetch: int, exclude_id: int | None = None
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
    plan: _Plan,
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
    plan = _plan(session, analyse(query))
    return [
        SearchHit(
            article=article,
            score=value,
            title_html=highlight(article.title, plan),
            snippet_html=snippet(article.body_plain, plan),
        )
        for article, value in _ranked_articles(session, plan, language, limit)
    ]


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
    plan = _plan(
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


# -- highlighting -------------------------------------------------------------------


def _match_spans(text: str, plan: _Plan) -> Iterator[tuple[int, int]]:
    hangul_marks = sorted(plan.hangul_marks, key=len, reverse=True)
    for match in _WORD.finditer(text):
        token = match.group()
        if _BIGRAM_START.match(token):
            for mark in hangul_marks:
                start = token.find(mark)
                if start >= 0:
                    yield match.start() + start, match.start() + start + len(mark)
                    break
        elif plan.latin_stems and _stem(normalize(token)) in plan.latin_stems:
            yield match.span()


def highlight(text: str, plan: _Plan) -> Markup:
    """The text escaped, with the matched words wrapped in <mark>."""
    out, position = [], 0
    for start, end in _match_spans(text, plan):
        if start < position:
            continue
        out.append(escape(text[position:start]))
        out.append(Markup("<mark>%s</mark>") % text[start:end])
        position = end
    out.append(escape(text[position:]))
    return Markup("").join(out)


def snippet(text: str, plan: _Plan, size: int = SNIPPET_CHARS) -> Markup:
    """About `size` characters of the text around its first match, highlighted."""
    first = next(_match_spans(text, plan), None)
    start = 0
    if first is not None:
        start = max(0, first[0] - size // 3)
        space = text.rfind(" ", 0, start)
        start = space + 1 if space > start - 20 else start
    piece = text[start : start + size]
    prefix = "… " if start > 0 else ""
    suffix = " …" if start + size < len(text) else ""
    return Markup(escape(prefix)) + highlight(piece, plan) + escape(suffix)


def excerpt(text: str, size: int = 160) -> str:
    text = " ".join((text or "").split())
    if len(text) <= size:
        return text
    cut = text.rfind(" ", 0, size)
    return text[: cut if cut > size // 2 else size].rstrip() + "…"
