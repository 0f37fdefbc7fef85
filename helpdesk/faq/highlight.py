"""Matched words marked in article text: the text is escaped and only the matched words
are wrapped in <mark>, so nothing in a query or an article becomes markup."""

from __future__ import annotations

from collections.abc import Iterator

from markupsafe import Markup, escape

from helpdesk.faq.query_plan import QueryPlan
from helpdesk.faq.text_analysis import BIGRAM_START, WORD, english_stem, normalize

SNIPPET_CHARS = 220


def match_spans(text: str, plan: QueryPlan) -> Iterator[tuple[int, int]]:
    hangul_marks = sorted(plan.hangul_marks, key=len, reverse=True)
    for match in WORD.finditer(text):
        token = match.group()
        if BIGRAM_START.match(token):
            for mark in hangul_marks:
                start = token.find(mark)
                if start >= 0:
                    yield match.start() + start, match.start() + start + len(mark)
                    break
        elif plan.latin_stems and english_stem(normalize(token)) in plan.latin_stems:
            yield match.span()


def highlight(text: str, plan: QueryPlan) -> Markup:
    """The text escaped, with the matched words wrapped in <mark>."""
    out, position = [], 0
    for start, end in match_spans(text, plan):
        if start < position:
            continue
        out.append(escape(text[position:start]))
        out.append(Markup("<mark>%s</mark>") % text[start:end])
        position = end
    out.append(escape(text[position:]))
    return Markup("").join(out)


def snippet(text: str, plan: QueryPlan, size: int = SNIPPET_CHARS) -> Markup:
    """About `size` characters of the text around its first match, highlighted."""
    first = next(match_spans(text, plan), None)
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
