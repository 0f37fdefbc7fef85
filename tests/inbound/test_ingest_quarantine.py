"""Mail that cannot become anything waits in quarantine with its reason; never lost."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from helpdesk.inbound import incoming
from helpdesk.inbound.incoming import NotQuarantined
from helpdesk.inbound.ingest import reprocess_quarantined
from helpdesk.mail.models import RawMessage, RawStatus, SeenMessage
from helpdesk.tickets.models import Ticket
from tests.tickets.mails import SETTINGS, ingest, mail

NO_SENDER = b"To: support@helpdesk.test\r\nSubject: Who am I\r\nMessage-ID: <q1@x>\r\n\r\nHi\r\n"


def tickets(session) -> int:
    return session.scalar(select(func.count()).select_from(Ticket))


def test_mail_the_parser_refuses_is_quarantined_with_its_reason(session):
    result = ingest(session, NO_SENDER)
    assert result.status == RawStatus.quarantined
    assert "From" in result.reason
    row = session.get(RawMessage, result.raw_message_id)
    assert row.status == RawStatus.quarantined
    assert row.status_reason == result.reason
    assert row.content == NO_SENDER
    assert tickets(session) == 0


def test_bytes_that_are_no_mail_at_all_are_quarantined(session):
    result = ingest(session, b"\x00\x01\x02 not a message")
    assert result.status == RawStatus.quarantined
    assert tickets(session) == 0


def test_unexpected_error_quarantines_the_raw_message_and_undoes_its_changes(session, monkeypatch):
    def broken_parser(*args, **kwargs):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(incoming, "parse_message", broken_parser)
    result = ingest(session, mail())
    assert result.status == RawStatus.quarantined
    assert "RuntimeError: parser bug" in result.reason
    session.expire_all()
    row = session.get(RawMessage, result.raw_message_id)
    assert row.status == RawStatus.quarantined
    assert row.content == mail()
    assert session.scalar(select(func.count()).select_from(SeenMessage)) == 0


def test_reprocessing_a_quarantined_message_after_the_fix_opens_its_ticket(session, monkeypatch):
    monkeypatch.setattr(incoming, "parse_message", lambda *a, **k: 1 / 0)
    quarantined = ingest(session, mail())
    monkeypatch.undo()
    result = reprocess_quarantined(session, quarantined.raw_message_id, SETTINGS)
    assert result.status == RawStatus.ingested
    assert result.created_ticket
    assert result.raw_message_id == quarantined.raw_message_id
    session.expire_all()
    assert session.get(RawMessage, quarantined.raw_message_id).ticket_id == result.ticket_id
    assert tickets(session) == 1


def test_reprocessing_keeps_its_own_dedupe_claim(session):
    first = ingest(session, NO_SENDER)
    again = reprocess_quarantined(session, first.raw_message_id, SETTINGS)
    assert again.status == RawStatus.quarantined
    assert "From" in again.reason


def test_refetched_copy_of_a_quarantined_message_is_a_duplicate(session):
    first = ingest(session, NO_SENDER)
    second = ingest(session, NO_SENDER)
    assert second.status == RawStatus.duplicate
    assert session.get(RawMessage, second.raw_message_id).duplicate_of_id == first.raw_message_id


def test_only_quarantined_messages_can_be_reprocessed(session):
    done = ingest(session, mail())
    with pytest.raises(NotQuarantined):
        reprocess_quarantined(session, done.raw_message_id, SETTINGS)
    assert tickets(session) == 1
