"""The Korean catalogue: up to date with the code, complete, and safe to format.

A string added to the code without `make extract-messages` and a Korean translation fails
here, before a Korean user sees it in English.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "translations" / "messages.pot"
KOREAN = ROOT / "translations" / "ko" / "LC_MESSAGES" / "messages.po"
# The same keywords as the Makefile's extract-messages target.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
# printf-style conversions as Python's % operator reads them: Flask-Babel formats every
# string with %, so a stray "%" in a translation breaks the page that shows it.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def read_catalogue(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def extract_from_code() -> Catalog:
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    catalog = Catalog()
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], context=context)
    return catalog


def message_keys(catalog: Catalog) -> set[tuple[object, str | None]]:
    return {(m.id, m.context) for m in catalog if m.id}


def translations(message) -> tuple[str, ...]:
    return (message.string,) if isinstance(message.string, str) else tuple(message.string)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


@pytest.fixture(scope="module")
def korean() -> Catalog:
    return read_catalogue(KOREAN)


def test_template_lists_exactly_the_strings_in_the_code():
    in_code = message_keys(extract_from_code())
    in_template = message_keys(read_catalogue(TEMPLATE))
    not_in_template = sorted(map(str, in_code - in_template))
    assert not not_in_template, "run `make extract-messages`, then translate the new strings"
    no_longer_in_code = sorted(map(str, in_template - in_code))
    assert not no_longer_in_code, "run `make extract-messages` to drop these strings"


def test_korean_catalogue_has_the_same_strings_as_the_template(korean):
    assert message_keys(korean) == message_keys(read_catalogue(TEMPLATE))


def test_every_string_has_a_korean_translation(korean):
    untranslated = [m.id for m in korean if m.id and (m.fuzzy or not all(translations(m)))]
    assert not untranslated, f"untranslated or fuzzy in ko: {untranslated}"


def test_korean_has_a_single_plural_form(korean):
    assert korean.num_plurals == 1
    plurals = [m for m in korean if m.pluralizable]
    assert plurals
    assert all(len(translations(m)) == 1 for m in plurals)


def test_translations_keep_the_placeholders_of_the_english_text(korean):
    mismatched = []
    for m in korean:
        if not m.id:
            continue
        # Korean's single form stands for every count, so it follows the English plural.
        english = m.id if isinstance(m.id, str) else m.id[-1]
        for text in translations(m):
            if text and placeholders(text) != placeholders(english):
                mismatched.append((english, text))
    assert not mismatched


def test_catalogue_passes_babels_format_checks(korean):
    problems = [(m.id, [str(e) for e in errors]) for m, errors in korean.check()]
    assert not problems
