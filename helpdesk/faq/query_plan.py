"""A query turned into weighted index terms.

A query word that matches nothing is treated as a likely typo: it is compared with the
terms in `faq_search_vocabulary` that share its first letter (Hangul by its jamo), edit
distance one or two, before falling back to trigrams.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from helpdesk.faq.models import SearchVocabulary
from helpdesk.faq.text_analysis import Word, bigrams, trigrams

# Typo look-ups per query; a long message has enough correctly spelled words.
MAX_FUZZY_WORDS = 6
FUZZY_WEIGHT = 0.7
TRIGRAM_WEIGHT = 0.6


@dataclass
class QueryPlan:
    """Weighted query terms plus what to highlight for them."""

    weights: dict[str, float] = field(default_factory=dict)
    dfs: dict[str, int] = field(default_factory=dict)
    latin_stems: set[str] = field(default_factory=set)
    hangul_marks: set[str] = field(default_factory=set)
    # One entry per query word: the terms that stand for it, each with the share of the
    # word it covers (a trigram or bigram covers a part; a typo's look-alike, being a
    # guess, covers it as much as it weighs in the ranking).
    words: list[dict[str, float]] = field(default_factory=list)

    def add(self, term: str, weight: float, df: int | None = None) -> None:
        self.weights[term] = max(weight, self.weights.get(term, 0.0))
        if df is not None:
            self.dfs[term] = df

    def known(self, word: dict[str, float]) -> bool:
        """Whether some article contains at least part of the query word."""
        return any(self.dfs.get(term) for term in word)


def jamo(text: str) -> str:
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


def document_frequencies(session: Session, terms) -> dict[str, int]:
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
        compare, key = jamo(target), jamo
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


def find_look_alikes(
    session: Session, unknown: list[tuple[str, str]]
) -> dict[tuple[str, str], list[tuple[str, int]]]:
    """Vocabulary terms (with their document counts) one or two edits from each unknown
    ("w", Latin stem) or ("k", Hangul bigram), read in one round trip."""
    vocabulary = _terms_with_prefixes(session, {f"{kind}:{value[0]}" for kind, value in unknown})
    return {(kind, value): _fuzzy_matches(kind, value, vocabulary) for kind, value in unknown}


def plan_query(
    session: Session, words: list[Word], max_terms: int | None = None, fuzzy: bool = True
) -> QueryPlan:
    plan = QueryPlan()
    direct: dict[str, float] = {}
    for word in words:
        for term, weight in word.terms.items():
            direct[term] = direct.get(term, 0.0) + weight
    dfs = document_frequencies(session, direct)

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
    look_alikes = find_look_alikes(session, unknown[:MAX_FUZZY_WORDS] if fuzzy else [])

    trigram_words = [
        word
        for word in words
        if word.latin
        and not dfs.get(f"w:{word.stem}")
        and not look_alikes.get(("w", word.stem))
        and len(word.surface) >= 4
        and fuzzy
    ]
    gram_dfs = document_frequencies(
        session, {f"t:{g}" for word in trigram_words for g in trigrams(word.surface)}
    )

    for word in words:
        if word.latin:
            term = f"w:{word.stem}"
            if dfs.get(term):
                plan.add(term, direct[term], dfs[term])
                plan.latin_stems.add(word.stem)
                plan.words.append({term: 1.0})
                continue
            covers: dict[str, float] = {}
            for fuzzy_term, df in look_alikes.get(("w", word.stem), []):
                plan.add(fuzzy_term, FUZZY_WEIGHT, df)
                plan.latin_stems.add(fuzzy_term[2:])
                covers[fuzzy_term] = FUZZY_WEIGHT
            if word in trigram_words:
                grams = trigrams(word.surface)
                for gram in grams:
                    term = f"t:{gram}"
                    plan.add(term, TRIGRAM_WEIGHT * 3 / len(grams), gram_dfs.get(term, 0))
                    covers[term] = 1 / len(grams)
            plan.words.append(covers or {f"w:{word.stem}": 1.0})
            continue
        known_stem_grams = 0
        stem_grams = [t for t, weight in word.terms.items() if weight == 1.0]
        covers = {}
        for term, weight in word.terms.items():
            if dfs.get(term):
                plan.add(term, direct[term] * weight, dfs[term])
                if weight == 1.0:
                    known_stem_grams += 1
                    plan.hangul_marks.add(term[2:])
                    covers[term] = 1 / len(stem_grams)
            else:
                for fuzzy_term, df in look_alikes.get(("k", term[2:]), []):
                    plan.add(fuzzy_term, FUZZY_WEIGHT, df)
                    plan.hangul_marks.add(fuzzy_term[2:])
                    if weight == 1.0:
                        covers[fuzzy_term] = FUZZY_WEIGHT / len(stem_grams)
        plan.words.append(covers or dict.fromkeys(stem_grams, 1 / max(len(stem_grams), 1)))
        if known_stem_grams and known_stem_grams == len(bigrams(word.stem)):
            plan.hangul_marks.add(word.stem)
    if max_terms is not None and len(plan.weights) > max_terms:
        # Long texts: keep the rarest terms, which are the ones that say what it is about.
        keep = sorted(plan.weights, key=lambda t: (plan.dfs.get(t) or 10**9, t))[:max_terms]
        plan.weights = {t: plan.weights[t] for t in keep}
    return plan
