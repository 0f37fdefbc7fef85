"""Signed ticket references in Message-IDs and body markers."""

from __future__ import annotations

from helpdesk.tickets.threading import (
    make_body_marker,
    make_message_id,
    ticket_id_from_body,
    ticket_id_from_message_id,
)

SECRET = "test-secret-key"


def test_message_id_names_its_ticket():
    mid = make_message_id(123, SECRET, "help.example.com")
    assert mid.startswith("helpdesk.t123.")
    assert mid.endswith("@help.example.com")
    assert ticket_id_from_message_id(mid, SECRET) == 123
    assert ticket_id_from_message_id(f"<{mid}>", SECRET) == 123


def test_message_ids_are_unique_per_call():
    assert make_message_id(1, SECRET, "d") != make_message_id(1, SECRET, "d")


def test_message_id_with_forged_signature_is_refused():
    mid = make_message_id(123, SECRET, "help.example.com")
    nonce = mid.split(".")[2]
    forged = f"helpdesk.t124.{nonce}.{mid.split('.')[3]}"
    assert ticket_id_from_message_id(forged, SECRET) is None
    assert ticket_id_from_message_id(f"helpdesk.t123.{nonce}.0000000000@x", SECRET) is None


def test_message_id_signed_with_another_secret_is_refused():
    assert ticket_id_from_message_id(make_message_id(5, "other", "d"), SECRET) is None


def test_foreign_message_id_names_no_ticket():
    assert ticket_id_from_message_id("CAF=abc123@mail.gmail.com", SECRET) is None


def test_body_marker_round_trip_inside_quoted_text():
    marker = make_body_marker(42, SECRET)
    assert marker.startswith("[ref:T42-")
    assert ticket_id_from_body(f"Thanks!\n\n> Old text\n> {marker}\n", SECRET) == 42


def test_forged_body_marker_is_refused():
    assert ticket_id_from_body("[ref:T42-0123456789]", SECRET) is None
    genuine = make_body_marker(42, SECRET)
    assert ticket_id_from_body(genuine.replace("T42", "T43"), SECRET) is None


def test_out_of_range_ticket_number_is_refused():
    marker = make_body_marker(99_999_999_999, SECRET)
    assert ticket_id_from_body(marker, SECRET) is None
