"""Text analysed into FAQ index terms, for Korean and English.

The databases' own full-text search splits Korean at spaces, and Korean writes a noun and
its particle together ("환불은", "환불을", "환불이"), so "환불" would find none of them.
Here text is analysed into terms instead:

- Hangul words lose common particles and endings and become character bigrams, which
  match whatever the word is glued to (bigrams of the whole word are kept at half
  weight, since stripping can cut too much). A one-syllable stem is kept as a unigram.
- Latin words are reduced to their Snowball English stem ("refunds" -> "refund"), and
  their character trigrams are indexed for words with no exact match.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer

TITLE_BOOST = 3.0
TAG_BOOST = 2.0

_BIGRAM_SCRIPT = "\uac00-\ud7a3\u3040-\u30ff\u4e00-\u9fff"
WORD = re.compile(rf"[{_BIGRAM_SCRIPT}]+|[^\W_{_BIGRAM_SCRIPT}]+")
BIGRAM_START = re.compile(rf"[{_BIGRAM_SCRIPT}]")
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
        "문의 문의드립니다 부탁드립니다 감사합니다 주세요 해주세요 얼마나 지금 안돼요 안되요"
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
def english_stem(word: str) -> str:
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


def bigrams(word: str) -> list[str]:
    if len(word) == 1:
        return [word]
    return [word[i : i + 2] for i in range(len(word) - 1)]


def trigrams(word: str) -> list[str]:
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
    for match in WORD.finditer(normalize(text)):
        token = match.group()
        if len(token) > _MAX_WORD:
            continue
        if BIGRAM_START.match(token):
            if token in _KO_STOPWORDS:
                continue
            stem = strip_korean_suffixes(token)
            if stem in _KO_STOPWORDS:
                continue
            terms = {f"k:{g}": 1.0 for g in bigrams(stem)}
            for gram in bigrams(token):
                terms.setdefault(f"k:{gram}", 0.5)
            words.append(Word(token, False, stem, terms))
        else:
            if token in _EN_STOPWORDS:
                continue
            stem = english_stem(token)
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
                for gram in set(trigrams(word.surface)):
                    weights[f"t:{gram}"] += 0.2 * boost
    return dict(weights)
