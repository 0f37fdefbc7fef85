"""Given and family names: taken from a display name, and how a mail greets the person.

Korean, Chinese and Japanese names put the family name first ("김민준": family 김, given
민준); Western names put it last ("Mary Ann Smith": given Mary Ann, family Smith). The
script of the name's first letter says which order a name follows. Customers keep the
parts in their record: derived from the name unless a person (or an import) gave them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Korean family names of two syllables. A name starting with one of these is read with
# it even in three syllables ("남궁민" is 남궁 + 민), so a 황 named 보라 is best written
# "황 보라"; people whose parts still come out wrong can enter them.
KOREAN_COMPOUND_FAMILY_NAMES = frozenset(
    {"남궁", "황보", "제갈", "선우", "독고", "사공", "서문", "동방"}
)
# Compound family names written in Chinese characters (Korean hanja, Traditional and
# Simplified Chinese).
HAN_COMPOUND_FAMILY_NAMES = frozenset(
    {
        *("南宮", "皇甫", "諸葛", "鮮于", "獨孤", "司空", "西門"),
        *("歐陽", "欧阳", "司馬", "司马", "上官", "诸葛", "東方", "东方"),
        *("令狐", "司徒", "夏侯", "慕容", "公孫", "公孙", "長孫", "长孙"),
    }
)
# One-syllable Korean family names, one per character (all the common ones; together
# well over 99% of Koreans). Only needed for a name written with a space, to tell
# "김 민준" (family name first) from a Western name in Hangul such as "존 스미스" or
# "제임스 조" (family name last).
KOREAN_FAMILY_NAMES = frozenset(
    "김이리박최정강조윤장임림한오서신권황안송류유전홍고문양량손배백허남심노로하곽성차주우구민진"
    "나라지엄채원천방공현함변염렴여려추도소석선설마길연련위표명기반왕금옥육륙인맹제모탁국어은편"
    "용룡예경봉사부가복태목형피두감음빈동온호범좌팽승간상시갈단견당화창옹순빙종풍궁근묵내곡뇌초대"
)
# Lower-case words that belong to the family name that follows them ("van Beethoven").
_PARTICLES = frozenset(
    ("van", "von", "de", "da", "di", "du", "del", "della", "der", "den", "des", "la", "le")
    + ("ter", "ten", "dos", "das", "do", "bin", "binti", "al", "af", "zu")
)
_TITLES = frozenset(("mr", "mrs", "ms", "miss", "mx", "dr", "prof"))
_SUFFIXES = frozenset(("jr", "sr", "ii", "iii", "iv", "phd", "md"))

_COMPOUND_FAMILY_NAMES = KOREAN_COMPOUND_FAMILY_NAMES | HAN_COMPOUND_FAMILY_NAMES
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")


@dataclass(frozen=True)
class NameParts:
    given: str
    family: str


def family_name_first(text: str) -> bool:
    """Whether a name is written family name first: its first letter is Korean,
    Chinese or Japanese."""
    first = next((c for c in text if c.isalpha()), "")
    return bool(first) and bool(_HANGUL.match(first) or _HAN.match(first) or _KANA.match(first))


def is_hangul(text: str) -> bool:
    """Whether a name is written in Korean (its first letter is Hangul)."""
    first = next((c for c in text if c.isalpha()), "")
    return bool(first) and bool(_HANGUL.match(first))


# A CSV import asks for the same name a few times per row, and names repeat.
@lru_cache(maxsize=4096)
def split_name(name: str) -> NameParts:
    """The given and family name a display name most likely holds.

    Family name first for Korean, Chinese and Japanese names, last for Western ones; a
    single word is the given name; an empty name has neither.
    """
    text = " ".join((name or "").split())
    if not text:
        return NameParts("", "")
    if family_name_first(text):
        return _split_family_first(text.replace(",", " ").split())
    return _split_western(text)


def _split_family_first(words: list[str]) -> NameParts:
    if len(words) == 1:
        word = words[0]
        family = _leading_family_name(word)
        if family is None:
            return NameParts(word, "")
        return NameParts(word[len(family) :], family)
    first, rest = words[0], " ".join(words[1:])
    if is_hangul(first) and first not in KOREAN_FAMILY_NAMES | KOREAN_COMPOUND_FAMILY_NAMES:
        # Hangul words that do not start with a family name: a Western name written in
        # Hangul, or a Korean one in Western order ("민준 김").
        return NameParts(" ".join(words[:-1]), words[-1])
    return NameParts(rest, first)


def _leading_family_name(word: str) -> str | None:
    """The family name at the start of a name written without a space, if one can be told.

    Korean: the compound family names, else the first syllable. Chinese characters: the
    compound family names, else one character in names of two or three and two in names
    of four (Japanese names such as 山田太郎). Longer ones and names with kana are left
    whole: their split cannot be guessed.
    """
    if len(word) < 2 or _KANA.search(word):
        return None
    if len(word) > 2 and word[:2] in _COMPOUND_FAMILY_NAMES:
        return word[:2]
    if is_hangul(word):
        return word[0]
    if len(word) <= 3:
        return word[0]
    if len(word) == 4:
        return word[:2]
    return None


def _split_western(text: str) -> NameParts:
    suffix = ""
    if "," in text:
        before, after = (part.strip() for part in text.split(",", 1))
        if _is_suffix(after):
            text, suffix = before, after
        elif before and after:
            # "Smith, Mary Ann": family name, then given names, as lists and exports write.
            return NameParts(" ".join(_without_titles(after.split())), before)
        else:
            text = before or after
    words = _without_titles(text.split())
    while len(words) > 2 and _is_suffix(words[-1]):
        suffix = f"{words.pop()} {suffix}".strip()
    if len(words) == 1:
        return NameParts(words[0], suffix)
    start = len(words) - 1
    while start > 1 and words[start - 1] in _PARTICLES:
        start -= 1
    family = " ".join(words[start:] + ([suffix] if suffix else []))
    return NameParts(" ".join(words[:start]), family)


def _without_titles(words: list[str]) -> list[str]:
    while len(words) > 1 and words[0].lower().rstrip(".") in _TITLES:
        words = words[1:]
    return words


def _is_suffix(word: str) -> bool:
    return word.lower().replace(".", "") in _SUFFIXES


def resolve_name_parts(
    name: str, given: str, family: str, *, fallback: NameParts | None = None
) -> tuple[NameParts, bool]:
    """The parts to store and whether they count as entered by a person.

    `given` and `family` are what was typed ("" for an empty input). Empty inputs take
    their part from `fallback` when given (a CSV import keeps what is stored), otherwise
    both empty mean "from the name". Parts equal to what the name gives count as not
    entered, so that they follow the name when it changes; entered parts stay as typed.
    """
    derived = split_name(name)
    if fallback is not None:
        given, family = given or fallback.given, family or fallback.family
    elif not given and not family:
        return derived, False
    parts = NameParts(given, family)
    return parts, parts != derived


# --- greeting -----------------------------------------------------------------------------


def full_name(parts: NameParts, name: str = "") -> str:
    """The name in its order: "김민준" (family name first, East Asian parts run together),
    "Mary Ann Smith", "존 스미스" and "Sarah 김" (family name last, as written)."""
    written = " ".join(name.split())
    family_first = (
        bool(parts.family)
        and family_name_first(parts.family)
        and not written.endswith(" " + parts.family)
    )
    present = [p for p in (parts.family, parts.given) if p]
    if not family_first:
        present.reverse()
    joiner = "" if family_first and all(family_name_first(p) for p in present) else " "
    return joiner.join(present) or written


def salutation(parts: NameParts, name: str, language: str) -> str:
    """The opening line of a mail, with its comma.

    Korean: the full name and 님 ("김민준 님,", "Mary Smith 님,"), the polite form Korean
    newsletters and business mail use, else "고객님,". English: "Hi" and the given name
    ("Hi Mary,", "Hi 민준,"), else "Hello,".
    """
    whole = full_name(parts, name)
    if language == "ko":
        return f"{whole} 님," if whole else "고객님,"
    called = parts.given or whole
    return f"Hi {called}," if called else "Hello,"


def salutation_language(name: str) -> str | None:
    """The language a customer is greeted in, from the script of the name: "ko" for a
    Hangul name, "en" for any other, None without a name."""
    if not name.strip():
        return None
    return "ko" if is_hangul(name) else "en"
