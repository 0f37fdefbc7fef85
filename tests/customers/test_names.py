"""Splitting a display name into given and family name, and the greeting built from them."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from helpdesk.customers.names import (
    KOREAN_COMPOUND_FAMILY_NAMES,
    KOREAN_FAMILY_NAMES,
    NameParts,
    resolve_name_parts,
    salutation,
    split_name,
)

SYLLABLE = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
KOREAN_GIVEN = st.text(SYLLABLE, min_size=1, max_size=2)
COMPOUND = st.sampled_from(sorted(KOREAN_COMPOUND_FAMILY_NAMES))
SINGLE = st.sampled_from(sorted(KOREAN_FAMILY_NAMES))
# Capitalized Latin words that are no title ("Dr"), suffix ("Jr", "Iii") or particle.
NOT_A_NAME_WORD = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "jr", "sr", "ii", "iii", "iv"}
WESTERN_WORD = st.from_regex(r"\A[A-Z][a-z]{1,9}\Z").filter(
    lambda word: word.lower() not in NOT_A_NAME_WORD | {"phd", "md"}
)


@given(family=SINGLE, given_name=KOREAN_GIVEN)
def test_korean_one_syllable_family_name_comes_first_with_or_without_space(family, given_name):
    # 남 + 궁X reads as the compound family name 남궁; that case has its own test.
    assume(family + given_name[0] not in KOREAN_COMPOUND_FAMILY_NAMES)
    expected = NameParts(given_name, family)
    assert split_name(family + given_name) == expected
    assert split_name(f"{family} {given_name}") == expected
    assert split_name(f"  {family}   {given_name} ") == expected


@given(family=COMPOUND, given_name=KOREAN_GIVEN)
def test_korean_two_syllable_family_names_are_kept_whole(family, given_name):
    expected = NameParts(given_name, family)
    assert split_name(family + given_name) == expected
    assert split_name(f"{family} {given_name}") == expected


@given(given_names=st.lists(WESTERN_WORD, min_size=1, max_size=3), family=WESTERN_WORD)
def test_western_family_name_is_the_last_word(given_names, family):
    name = " ".join([*given_names, family])
    assert split_name(name) == NameParts(" ".join(given_names), family)


@given(word=st.one_of(WESTERN_WORD, SINGLE))
def test_a_single_word_is_the_given_name(word):
    assert split_name(word) == NameParts(word, "")


@pytest.mark.parametrize(
    ("name", "given_name", "family"),
    [
        ("김민준", "민준", "김"),
        ("김 민준", "민준", "김"),
        ("이서연", "서연", "이"),
        ("남궁민수", "민수", "남궁"),
        ("남궁 민수", "민수", "남궁"),
        ("황보서연", "서연", "황보"),
        ("제갈량", "량", "제갈"),
        ("선우 재덕", "재덕", "선우"),
        ("독고영재", "영재", "독고"),
        ("사공 민", "민", "사공"),
        ("서문탁", "탁", "서문"),
        # A space settles a three-syllable name that could start with a compound.
        ("황 보라", "보라", "황"),
        ("김구", "구", "김"),
        ("Mary Ann Smith", "Mary Ann", "Smith"),
        ("Joon Park", "Joon", "Park"),
        ("Smith, Mary Ann", "Mary Ann", "Smith"),
        ("Ludwig van Beethoven", "Ludwig", "van Beethoven"),
        ("Juan de la Cruz", "Juan", "de la Cruz"),
        ("Martin Luther King Jr.", "Martin Luther", "King Jr."),
        ("Martin Luther King, Jr.", "Martin Luther", "King Jr."),
        ("Dr. Mary Smith", "Mary", "Smith"),
        ("Cher", "Cher", ""),
        ("", "", ""),
        ("   ", "", ""),
        # Mixed: the script of the first word decides the order.
        ("김 Minjun", "Minjun", "김"),
        ("Sarah 김", "Sarah", "김"),
        # Hangul words that do not start with a family name: given name first.
        ("존 스미스", "존", "스미스"),
        ("제임스 조", "제임스", "조"),
        ("민준 김", "민준", "김"),
        # Chinese and Japanese names put the family name first too.
        ("王小明", "小明", "王"),
        ("歐陽小明", "小明", "歐陽"),
        ("山田 太郎", "太郎", "山田"),
        ("山田太郎", "太郎", "山田"),
        ("金民俊", "民俊", "金"),
        # Kana without a space: where the family name ends cannot be told.
        ("やまだはなこ", "やまだはなこ", ""),
    ],
)
def test_split_name_examples(name, given_name, family):
    assert split_name(name) == NameParts(given_name, family)


@pytest.mark.parametrize(
    ("name", "english", "korean"),
    [
        ("김 민준", "Hi 민준,", "김민준 님,"),
        ("남궁민수", "Hi 민수,", "남궁민수 님,"),
        ("Mary Ann Smith", "Hi Mary Ann,", "Mary Ann Smith 님,"),
        ("존 스미스", "Hi 존,", "존 스미스 님,"),
        ("김 Minjun", "Hi Minjun,", "김 Minjun 님,"),
        ("", "Hello,", "고객님,"),
    ],
)
def test_salutation_in_both_languages(name, english, korean):
    parts = split_name(name)
    assert salutation(parts, name, "en") == english
    assert salutation(parts, name, "ko") == korean


def test_entered_parts_are_greeted_by_their_own_order():
    parts = NameParts("민준", "김")
    assert salutation(parts, "Minjun Kim", "ko") == "김민준 님,"
    assert salutation(parts, "Minjun Kim", "en") == "Hi 민준,"


def test_empty_inputs_take_the_parts_from_the_name():
    assert resolve_name_parts("김 민준", "", "") == (NameParts("민준", "김"), False)


def test_typed_parts_count_as_entered_unless_the_name_gives_the_same():
    assert resolve_name_parts("Kim Minjun", "Minjun", "Kim") == (NameParts("Minjun", "Kim"), True)
    assert resolve_name_parts("김민준", "민준", "김") == (NameParts("민준", "김"), False)
    assert resolve_name_parts("Cher", "Cher", "") == (NameParts("Cher", ""), False)


def test_a_fallback_fills_the_empty_input_only():
    stored = NameParts("Minjun", "Kim")
    assert resolve_name_parts("김민준", "", "", fallback=stored) == (stored, True)
    assert resolve_name_parts("김민준", "", "Park", fallback=stored) == (
        NameParts("Minjun", "Park"),
        True,
    )
