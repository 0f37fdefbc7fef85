"""Address headers are written from structured addresses and read back as exactly them:
a display name can hold any character and never smuggles in another address."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.headerregistry import Address

import pytest

from helpdesk.mail.addresses import UnsafeAddress, address_header_value
from helpdesk.mail.outbound import build_message

LONG_BCC = "x" * 70 + ", Bcc: x@evil.example"
NAMES = [
    LONG_BCC,
    "Shop <News>",
    'The "Best" Shop',
    'O"Brien \\ Sons',
    "Kim, Lee and Park",
    "김민지",
    "김민지 " * 12 + ", Bcc: x@evil.example",
    "=?utf-8?b?QmNjOiB4QGV2aWw=?=",
    "word " * 15 + '"q" <x@evil.example>, y',
]


def _read_back(message) -> list[tuple[str, str]]:
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    return [(a.display_name, a.addr_spec) for a in parsed["From"].addresses]


def _squeezed(name: str) -> str:
    return "".join(name.split())


@pytest.mark.parametrize("name", NAMES)
def test_a_display_name_reads_back_as_the_one_address_written(name):
    sender = Address(display_name=name, addr_spec="customer@example.com")
    message = build_message(sender, "help@shop.example", "Hi", "Text", message_id="<m@x>")
    [(display_name, address)] = _read_back(message)
    assert address == "customer@example.com"
    # Python's parser keeps the space between encoded words that RFC 2047 drops.
    assert _squeezed(display_name) == _squeezed(name)


def test_the_long_name_with_a_bcc_is_one_sender_not_two():
    sender = Address(display_name=LONG_BCC, addr_spec="customer@example.com")
    raw = build_message(sender, "help@shop.example", "Hi", "Text", message_id="<m@x>").as_bytes()
    head = raw.split(b"\n\n")[0]
    assert b"x@evil.example" not in head
    assert all(len(line) <= 78 for line in head.splitlines())


def test_a_line_break_in_a_name_becomes_a_space():
    sender = Address(display_name="Kim", addr_spec="customer@example.com")
    value = address_header_value("From", [Address(display_name="Kim Lee", addr_spec="a@b.example")])
    assert value == "Kim Lee <a@b.example>"
    with pytest.raises(UnsafeAddress):
        address_header_value("To", ["Kim\nBcc: x@evil.example <a@b.example>"])
    message = build_message(sender, "help@shop.example", "Hi", "Text", message_id="<m@x>")
    assert _read_back(message) == [("Kim", "customer@example.com")]


def test_recipients_and_reply_to_given_as_text_keep_their_addresses():
    message = build_message(
        "news@shop.example",
        ['"Lee, Kim" <kim@example.com>', "park@example.com"],
        "Hi",
        "Text",
        headers={"Reply-To": "help@shop.example", "Cc": '"A, B" <a@example.com>, c@example.com'},
        message_id="<m@x>",
    )
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert [a.addr_spec for a in parsed["To"].addresses] == ["kim@example.com", "park@example.com"]
    assert [a.addr_spec for a in parsed["Cc"].addresses] == ["a@example.com", "c@example.com"]
    assert [a.addr_spec for a in parsed["Reply-To"].addresses] == ["help@shop.example"]


def test_an_address_that_is_not_one_address_is_refused():
    with pytest.raises(UnsafeAddress):
        address_header_value("To", ["a@example.com, b@example.com"])
