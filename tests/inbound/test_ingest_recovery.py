"""Stored mail that a crash left unprocessed is taken in later, exactly once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from helpdesk.db import utcnow
from helpdesk.inbound.incoming import _Stored
from helpdesk.inbound.ingest import _ingest_stored, ingest_left_unprocessed, store_raw
from helpdesk.mail.models import RawMessage, RawSource, RawStatus
from helpdesk.tickets.models import Ticket
from tests.tickets.mails import SETTINGS, ingest, mail


def left_by_a_crash(session, raw: bytes, minutes_ago: int = 5) -> RawMessage:
    """The bytes were committed, then the process died before ingest committed."""
    row = store_raw(session, raw, source=RawSource.imap)
    row.received_at = utcnow() - timedelta(minutes=minutes_ago)
    session.commit()
    return row


def tickets(session) -> int:
    return session.scalar(select(func.count()).select_from(Ticket))


def test_a_message_left_received_becomes_a_ticket_once(session):
    row = left_by_a_crash(session, mail())

    [result] = ingest_left_unprocessed(session, SETTINGS)
    again = ingest_left_unprocessed(session, SETTINGS)

    assert (result.raw_message_id, result.status) == (row.id, RawStatus.ingested)
    assert again == []
    assert tickets(session) == 1
    session.refresh(row)
    assert row.status == RawStatus.ingested and row.ticket_id == result.ticket_id


def test_a_message_left_received_and_fetched_again_since_is_a_duplicate(session):
    row = left_by_a_crash(session, mail())
    refetched = ingest(session, mail())

    [result] = ingest_left_unprocessed(session, SETTINGS)

    assert result.status == RawStatus.duplicate
    assert tickets(session) == 1
    session.refresh(row)
    assert row.duplicate_of_id == refetched.raw_message_id


def test_a_message_being_taken_in_right_now_is_left_to_its_process(session):
    left_by_a_crash(session, mail(), minutes_ago=0)

    assert ingest_left_unprocessed(session, SETTINGS) == []
    assert tickets(session) == 0


def test_the_process_that_stored_a_message_does_not_ingest_it_after_a_recovery_did(session):
    row = left_by_a_crash(session, mail())
    [recovered] = ingest_left_unprocessed(session, SETTINGS)

    # The original process comes back to the row it stored (it was only slow).
    [late] = _ingest_stored(session, [_Stored(row.id, row.content, None)], SETTINGS)

    assert (late.status, late.ticket_id) == (RawStatus.ingested, recovered.ticket_id)
    assert tickets(session) == 1


def test_many_messages_left_behind_are_all_taken_in(session):
    for n in range(5):
        left_by_a_crash(session, mail(subject=f"Order {n}", message_id=f"<o{n}@example.com>"))

    results = ingest_left_unprocessed(session, SETTINGS, batch_size=2)

    assert [result.status for result in results] == [RawStatus.ingested] * 5
    assert tickets(session) == 5
