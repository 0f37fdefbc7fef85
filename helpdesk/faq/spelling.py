"""Did-you-mean for FAQ searches: a query's misspelled words replaced by words the FAQ uses.

A query word the index does not know is compared with the indexed terms that look like
it (query_plan.find_look_alikes: edit distance, Hangul compared by its jamo). English
stems are turned back into a word as the articles spell it. Korean is corrected for
two-syllable stems ("결재가" → "결제가"), the common nouns; a longer Korean word is
indexed as bigrams, which cannot be put back into one word reliably, so it is left as
typed. A correction is offered only when it finds articles.
"""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from helpdesk.faq.models import Article, SearchTerm
from helpdesk.faq.query_plan import (
    MAX_FUZZY_WORDS,
    document_frequencies,
    edit_distance,
    find_look_alikes,
    jamo,
)
from helpdesk.faq.text_analysis import (
    WORD,
    Word,
    analyse,
    english_stem,
    normalize,
    strip_korean_suffixes,
)

# Articles read to find how the FAQ spells a stem; one usually suffices.
SPELLING_SAMPLE = 3


def _typo(word: Word, dfs: dict[str, int]) -> tuple[str, str] | None:
    """The (kind, value) to look up for a word the index does not know, if any."""
    if word.latin:
        if len(word.stem) >= 3 and not dfs.get(f"w:{word.stem}"):
            return ("w", word.stem)
        return None
    if len(word.stem) == 2 and not dfs.get(f"k:{word.stem}"):
        return ("k", word.stem)
    return None


def _closest(kind: str, value: str, matches: list[tuple[str, int]]) -> str:
    def distance(term: str) -> int:
        if kind == "w":
            return edit_distance(value, term[2:], 2)
        return edit_distance(jamo(value), jamo(term[2:]), 1)

    # Nearest first; among equally near, the term more articles use.
    return min(matches, key=lambda match: (distance(match[0]), -match[1], match[0]))[0][2:]


def _as_written(session: Session, kind: str, term: str, typed: str) -> str | None:
    """How the articles write an indexed term: for an English stem the word nearest to
    what was typed ("shiping" → "shipping", not "ships"); a Hangul bigram only when some
    article has it as a word of its own (결제 in "결제가"), not as a piece of one (주시
    in "주시면")."""
    ids = select(SearchTerm.article_id).where(SearchTerm.term == f"{kind}:{term}")
    articles = session.scalars(
        select(Article)
        .where(Article.id.in_(ids.limit(SPELLING_SAMPLE)))
        .options(defer(Article.body), defer(Article.body_html))
    )
    written: Counter[str] = Counter()
    for article in articles:
        for match in WORD.finditer(normalize(f"{article.title} {article.body_plain}")):
            token = match.group()
            if kind == "w" and english_stem(token) == term:
                written[token] += 1
            elif kind == "k" and strip_korean_suffixes(token) == term:
                written[term] += 1
    if not written:
        return None
    return min(written, key=lambda word: (edit_distance(typed, word, 3), -written[word], word))


def corrected_query(session: Session, query: str) -> str | None:
    """The query with its misspelled words corrected, or None when none is."""
    words = analyse(query)
    dfs = document_frequencies(
        session, {f"w:{w.stem}" if w.latin else f"k:{w.stem}" for w in words}
    )
    typos = {}
    for word in words:
        typo = _typo(word, dfs)
        if typo and len(typos) < MAX_FUZZY_WORDS:
            typos[word.surface] = (word, typo)
    look_alikes = find_look_alikes(session, [typo for _, typo in typos.values()])
    corrected = normalize(query)
    changed = False
    for surface, (word, (kind, value)) in typos.items():
        matches = look_alikes.get((kind, value))
        if not matches:
            continue
        written = _as_written(session, kind, _closest(kind, value, matches), surface)
        if written is None:
            continue
        replacement = written if kind == "w" else written + surface[len(word.stem) :]
        corrected = re.sub(rf"(?<!\w){re.escape(surface)}(?!\w)", replacement, corrected, count=1)
        changed = True
    return " ".join(corrected.split()) if changed else None
