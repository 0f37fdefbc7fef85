"""parse_message never raises: garbage, truncated and mutated mail comes back parsed or
quarantined with a reason, always with the SHA-256 of the input; and it stays fast."""

import hashlib
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.mail.parse import ParsedMail, parse_message

CORPUS = Path(__file__).parent.parent / "data" / "emails"
CORPUS_FILES = sorted(p.read_bytes() for p in CORPUS.glob("*.eml"))

# Pieces of real mail, so generated input reaches the MIME and charset code, not only the
# "no headers" exit.
FRAGMENTS = [
    b"From: Kim <kim@example.kr>\n",
    b"To: a@b.c, =?utf-8?B?6rmA?= <d@e.f>\n",
    b"Subject: =?ks_c_5601-1987?B?udrB9r/s?=\n",
    b"Subject: =?iso-2022-jp?B?GyRCJDMbKEI=?=\n",
    b"Content-Type: multipart/mixed; boundary=b\n",
    b'Content-Type: multipart/alternative; boundary="b"\n',
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n",
    b"Content-Type: message/rfc822\n",
    b"Content-Type: message/delivery-status\n",
    b"Content-Type: text/html; charset=euc-kr\n",
    b"Content-Type: text/plain; charset=x-unknown\n",
    b"Content-Transfer-Encoding: base64\n",
    b"Content-Transfer-Encoding: quoted-printable\n",
    b"Content-Disposition: attachment; filename*=utf-8''%ED%95%9C.pdf\n",
    b"Content-ID: <x@y>\n",
    b"Final-Recipient: rfc822; x@y.z\nStatus: 5.1.1\nAction: failed\n",
    b"Date: Mon, 1 Jan 2024 00:00:00 +0900\n",
    b"Message-ID: <a@b>\n",
    b"\n",
    b"--b\n",
    b"--b--\n",
    b"<img src=http://x/y.gif><p>hi<br>there</p><script>x</script>\n",
    b"> quoted\n",
    b"On Mon wrote:\n",
    b"=E9=41==\n",
    "한글 본문\n".encode("euc-kr"),
]


def check(raw: bytes, *, parser_may_give_up: bool = False) -> ParsedMail:
    parsed = parse_message(raw)
    assert isinstance(parsed, ParsedMail)
    if not parser_may_give_up:
        # The catch-all is the last line of defence, not how bad input is handled.
        assert not (parsed.quarantine_reason or "").startswith("parser failure")
    assert parsed.sha256 == hashlib.sha256(raw).hexdigest()
    # Everything must be storable as PostgreSQL text.
    for value in (parsed.subject, parsed.text, parsed.text_reply, *parsed.headers.values()):
        value.encode("utf-8")
        assert "\x00" not in value
    return parsed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_never_raise(raw):
    check(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=40)), max_size=40))
def test_mail_like_fragments_never_raise(pieces):
    check(b"".join(pieces))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(CORPUS_FILES),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=20),
    st.floats(0, 1),
)
def test_mutated_corpus_messages_never_raise(raw, flips, keep):
    data = bytearray(raw)
    for where, value in flips:
        data[int(where * len(data))] = value
    check(bytes(data[: int(len(data) * keep)]))


def test_empty_input_is_quarantined():
    parsed = check(b"")
    assert parsed.quarantine_reason == "empty input"


def test_whitespace_only_input_is_quarantined():
    assert check(b" \r\n\t\n").quarantine_reason == "empty input"


def test_binary_garbage_is_quarantined_as_not_mail():
    parsed = check(bytes(range(256)) * 4)
    assert parsed.quarantine_reason == "not a mail message: no header fields"
    assert parsed.text == ""


def test_text_that_only_looks_like_a_header_is_quarantined_as_not_mail():
    parsed = check(b"Note: buy milk\n\nand eggs\n")
    assert parsed.quarantine_reason == "not a mail message: no From and no mail headers"


def test_input_that_is_not_bytes_is_quarantined_instead_of_raising():
    parsed = parse_message("From: a@b.c\n\nhi")  # type: ignore[arg-type]
    assert parsed.quarantine_reason.startswith("input is not bytes")


def test_deeply_nested_multiparts_are_cut_off_with_a_defect():
    depth = 60
    raw = b"From: a@example.com\n"
    for level in range(depth):
        raw += f"Content-Type: multipart/mixed; boundary=b{level}\n\n--b{level}\n".encode()
    raw += b"Content-Type: text/plain\n\ndeep\n"
    parsed = check(raw)
    assert parsed.quarantine_reason is None
    assert "MIME nesting too deep; inner parts dropped" in parsed.defects


def test_absurdly_deep_nesting_never_raises():
    raw = b"From: a@example.com\n" + b"Content-Type: message/rfc822\n\n" * 5000 + b"hi\n"
    parsed = check(raw, parser_may_give_up=True)
    assert parsed.quarantine_reason.startswith("parser failure: RecursionError")


def test_huge_header_and_long_lines_parse_quickly():
    raw = (
        b"From: a@example.com\nSubject: " + b"=?utf-8?B?" + b"A" * 200_000 + b"\n"
        b"To: " + b"x," * 50_000 + b"\n\n" + (b"-" * 100_000 + b"\n") * 10
    )
    started = time.perf_counter()
    check(raw)
    assert time.perf_counter() - started < 5.0
