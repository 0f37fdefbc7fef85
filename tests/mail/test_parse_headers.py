"""Header fields come out decoded and normalized: ids, addresses, dates, encoded words."""

import base64
from datetime import UTC, datetime
from pathlib import Path

from helpdesk.mail.parse import Address, parse_message

CORPUS = Path(__file__).parent.parent / "data" / "emails"


def mail(headers: str, body: str = "Hello.\n") -> bytes:
    return (headers.strip("\n") + "\n\n" + body).encode("utf-8")


def test_message_id_loses_its_angle_brackets():
    parsed = parse_message(mail("From: a@example.com\nMessage-ID:  <abc.123@example.com> "))
    assert parsed.message_id == "abc.123@example.com"


def test_missing_message_id_is_none():
    parsed = parse_message((CORPUS / "no_message_id.eml").read_bytes())
    assert parsed.message_id is None
    assert parsed.quarantine_reason is None


def test_message_id_without_brackets_is_still_read():
    parsed = parse_message((CORPUS / "malformed_headers.eml").read_bytes())
    assert parsed.message_id == "not-in-brackets@example.com"


def test_references_and_in_reply_to_are_lists_of_bare_ids_even_when_folded():
    parsed = parse_message(
        mail(
            "From: a@example.com\n"
            "In-Reply-To: <p1@example.com> (Help Desk's message of Monday)\n"
            "References: <r1@example.com>\n <r2@exam\n ple.com>  <p1@example.com>"
        )
    )
    assert parsed.in_reply_to == ["p1@example.com"]
    assert parsed.references == ["r1@example.com", "r2@example.com", "p1@example.com"]


def test_date_is_aware_utc():
    parsed = parse_message(mail("From: a@example.com\nDate: Mon, 15 Jan 2024 10:21:05 +0900"))
    assert parsed.date == datetime(2024, 1, 15, 1, 21, 5, tzinfo=UTC)
    assert parsed.date.tzinfo is UTC


def test_date_with_unknown_zone_is_taken_as_utc():
    parsed = parse_message(mail("From: a@example.com\nDate: Mon, 15 Jan 2024 10:21:05 -0000"))
    assert parsed.date == datetime(2024, 1, 15, 10, 21, 5, tzinfo=UTC)


def test_invalid_date_is_none_and_recorded_as_defect():
    parsed = parse_message(mail("From: a@example.com\nDate: 32 Foo 2024 99:99:99 +9999"))
    assert parsed.date is None
    assert any("Date" in d for d in parsed.defects)


def test_missing_date_is_none_without_quarantine():
    parsed = parse_message(mail("From: a@example.com\nSubject: hi"))
    assert parsed.date is None
    assert parsed.quarantine_reason is None


def test_address_domain_is_lower_cased_and_local_part_kept():
    parsed = parse_message(mail("From:  Jane Doe <Jane.Doe@Customer.EXAMPLE> "))
    assert parsed.from_ == Address(email="Jane.Doe@customer.example", name="Jane Doe")


def test_encoded_display_name_with_comma_stays_one_address():
    # "Kim, Minsu" encoded: decoding before splitting would make two recipients of it.
    parsed = parse_message(
        mail(
            "From: a@example.com\n"
            "To: =?UTF-8?B?S2ltLCBNaW5zdQ==?= <minsu@example.kr>, support@help.example"
        )
    )
    assert parsed.to == [
        Address(email="minsu@example.kr", name="Kim, Minsu"),
        Address(email="support@help.example", name=""),
    ]


def test_cc_and_reply_to_are_parsed():
    parsed = parse_message(
        mail("From: a@example.com\nCc: b@example.com, C <c@example.com>\nReply-To: r@example.com")
    )
    assert [a.email for a in parsed.cc] == ["b@example.com", "c@example.com"]
    assert parsed.reply_to == [Address(email="r@example.com", name="")]


def test_sender_header_stands_in_for_a_missing_from():
    parsed = parse_message(mail("Sender: Bot <bot@example.com>\nSubject: hi"))
    assert parsed.from_ == Address(email="bot@example.com", name="Bot")
    assert parsed.quarantine_reason is None


def test_unparseable_from_quarantines_with_reason():
    parsed = parse_message(mail("From: just some words\nSubject: hi"))
    assert parsed.from_ is None
    assert parsed.quarantine_reason == "no sender: From header unparseable"


def test_rfc2047_words_split_mid_character_are_joined_before_decoding():
    whole = "배송 문의".encode()
    first, second = whole[:4], whole[4:]  # splits the second syllable's bytes
    subject = (
        f"=?UTF-8?B?{base64.b64encode(first).decode()}?=\n"
        f" =?UTF-8?B?{base64.b64encode(second).decode()}?="
    )
    parsed = parse_message(mail(f"From: a@example.com\nSubject: {subject}"))
    assert parsed.subject == "배송 문의"


def test_quoted_printable_encoded_word_with_underscores():
    parsed = parse_message(mail("From: a@example.com\nSubject: =?iso-8859-1?Q?Caf=E9_cr=E8me?="))
    assert parsed.subject == "Café crème"


def test_ks_c_5601_1987_label_decodes_cp949_only_syllables():
    parsed = parse_message((CORPUS / "charset_ks_c_5601_1987_outlook.eml").read_bytes())
    assert parsed.from_ == Address(email="jiwoo.park@outlook.example", name="박지우")
    assert "똠방각하" in parsed.subject
    assert parsed.defects == []


def test_unencoded_8bit_cp949_headers_are_decoded():
    parsed = parse_message((CORPUS / "header_8bit_cp949_unencoded.eml").read_bytes())
    assert parsed.subject == "견적서 요청드립니다 (똠 상사)"
    assert parsed.from_.name == "홍길동"
    assert "raw 8-bit header" in parsed.defects


def test_unencoded_8bit_header_without_any_charset_hint_is_guessed_korean():
    raw = b"From: a@example.com\nSubject: " + "사진".encode("euc-kr") + b"\n\nhi\n"
    parsed = parse_message(raw)
    assert parsed.subject == "사진"


def test_headers_hold_the_first_decoded_value_per_lower_cased_name():
    parsed = parse_message(
        mail(
            "From: a@example.com\nX-Custom: first\nX-CUSTOM: second\n"
            "X-Folded: one\n two\nX-Encoded: =?UTF-8?B?7ZWc6riA?="
        )
    )
    assert parsed.headers["x-custom"] == "first"
    assert parsed.headers["x-folded"] == "one two"
    assert parsed.headers["x-encoded"] == "한글"
    assert parsed.headers["from"] == "a@example.com"


def test_broken_encoded_word_is_kept_and_recorded():
    parsed = parse_message((CORPUS / "malformed_headers.eml").read_bytes())
    assert parsed.subject.endswith("Printer keeps jamming")
    assert "broken encoded word in header" in parsed.defects
    assert parsed.from_ == Address(email="broken.sender@example.com", name="Broken Sender")
    assert [a.email for a in parsed.to] == ["support@help.example"]
