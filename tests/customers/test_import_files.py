"""Reading import files: encodings, delimiters and the whole-file errors on line numbers."""

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk.customers import importer
from helpdesk.customers.models import ImportKind
from helpdesk.normalize import (
    EmailNormalizer,
    InvalidEmail,
    InvalidPhone,
    _normalize_phone_fully,
    normalize_email,
    normalize_phone,
)
from tests.factories import make_custom_field

KOREAN = "email,name\nkim@example.com,김민지\nlee@example.com,이서연\n"


def plan(session, content: bytes, kind=ImportKind.customers):
    return importer.plan_import(session, kind, content)


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (KOREAN.encode("utf-8"), "utf-8"),
        (KOREAN.encode("utf-8-sig"), "utf-8-sig"),
        (KOREAN.encode("cp949"), "cp949"),
        (KOREAN.encode("euc-kr"), "cp949"),
    ],
)
def test_korean_names_read_in_each_supported_encoding(session, content, encoding):
    result = plan(session, content)
    assert result.encoding == encoding
    assert [row.name for row in result.rows] == ["김민지", "이서연"]
    assert result.errors == []


def test_bom_does_not_end_up_in_the_first_column_name(session):
    result = plan(session, "\ufeffEmail,Name\nkim@example.com,Kim\n".encode())
    assert result.columns == ["email", "name"]


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolon"), ("\t", "tab")])
def test_semicolon_and_tab_separated_files_are_detected(session, delimiter, name):
    content = f"email{delimiter}name\nkim@example.com{delimiter}Kim, Minji\n".encode()
    result = plan(session, content)
    assert result.delimiter == delimiter
    assert result.rows[0].name == "Kim, Minji"


def file_error(session, content: bytes, kind=ImportKind.customers):
    with pytest.raises(importer.ImportFileError) as caught:
        plan(session, content, kind)
    return caught.value


def test_empty_file_is_refused(session):
    assert file_error(session, b"").code == "empty"
    assert file_error(session, b"\xef\xbb\xbf\r\n\r\n").code == "empty"


def test_header_without_rows_is_refused(session):
    assert file_error(session, b"email,name\n").code == "no_rows"


def test_binary_file_is_refused(session):
    assert file_error(session, b"PK\x03\x04\x14\x00\x06\x00 spreadsheet").code == "binary"
    assert file_error(session, b"email\n\x01\x02\x03@example.com\n").code == "binary"


def test_file_in_an_unknown_encoding_is_refused(session):
    assert file_error(session, b"email,name\nkim@example.com,\xff\xfe\xff\n").code == "encoding"


def test_missing_email_column_is_reported_on_the_header_line(session):
    error = file_error(session, b"name,phone\nKim,010-1234-5678\n")
    assert (error.code, error.line, error.params["columns"]) == ("missing_columns", 1, "email")


def test_unknown_column_is_refused_for_the_whole_file(session):
    make_custom_field(session, key="plan", label="Plan")
    error = file_error(session, b"email,plan,shoe_size\nkim@example.com,Pro,270\n")
    assert (error.code, error.line, error.params["columns"]) == ("unknown_columns", 1, "shoe_size")
    assert "plan" in error.params["allowed"]


def test_header_after_blank_lines_reports_its_own_line(session):
    error = file_error(session, b"\n\nemail,colour\nkim@example.com,red\n")
    assert (error.code, error.line) == ("unknown_columns", 3)


def test_duplicate_and_empty_header_columns_are_refused(session):
    assert file_error(session, b"email,name,Name\na@example.com,A,B\n").code == "duplicate_columns"
    assert file_error(session, b"email,,name\na@example.com,,A\n").code == "empty_header"


def test_purchase_file_needs_its_required_columns(session):
    error = file_error(session, b"email,product\nkim@example.com,Book\n", ImportKind.purchases)
    assert error.code == "missing_columns"
    assert error.params["columns"] == "amount, currency, date"


def test_broken_quoting_is_reported_with_its_line(session):
    error = file_error(session, b'email,name\nkim@example.com,"Kim\n' + b"x" * 200_000 + b"\n")
    assert error.code == "malformed"


ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-"


@given(
    local=st.text(alphabet=ATEXT + '. "@(', min_size=0, max_size=70),
    domain=st.sampled_from(["example.com", "EXAMPLE.co.kr", "xn--mnchen-3ya.de", "localhost"]),
)
def test_fast_email_path_agrees_with_the_full_validator(local, domain):
    normalizer = EmailNormalizer()
    # A first valid address puts the domain in the cache, so the fast path is what runs.
    with contextlib.suppress(InvalidEmail):
        normalizer(f"warm-up@{domain}")
    address = f"{local}@{domain}"
    try:
        expected = normalize_email(address)
    except InvalidEmail:
        expected = None
    try:
        actual = normalizer(address)
    except InvalidEmail:
        actual = None
    assert actual == expected


@given(st.text(alphabet="0123456789+- ()x.１２", max_size=60))
def test_fast_phone_path_agrees_with_the_full_rules(raw):
    def outcome(parse):
        try:
            return parse(raw)
        except InvalidPhone:
            return None

    assert outcome(normalize_phone) == outcome(_normalize_phone_fully)
