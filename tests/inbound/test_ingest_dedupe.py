"""Raw bytes are kept first, and no message is ingested twice."""

from __future__ import annotations

import hashlib
import threading

from sqlalchemy import func, select

from helpdesk.db import database
from helpdesk.inbound.ingest import store_raw
from helpdesk.mail.models import RawMessage, RawSource, RawStatus, SeenMessage
from helpdesk.tickets.models import Message, Ticket
from tests.factories import make_mailbox
from tests.tickets.mails import ingest, mail


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_raw_bytes_stored_with_source_mailbox_uid_hash_and_size(session):
    mailbox = make_mailbox(session)
    raw = mail()
    result = ingest(session, raw, mailbox=mailbox, imap_uid=77)
    row = session.get(RawMessage, result.raw_message_id)
    assert row.content == raw
    assert row.source == RawSource.imap
    assert row.mailbox_id == mailbox.id
    assert row.imap_uid == 77
    assert row.sha256 == hashlib.sha256(raw).hexdigest()
    assert row.size == len(raw)
    assert row.message_id == "m1@example.com"
    assert row.status == RawStatus.ingested
    assert row.ticket_id == result.ticket_id
    assert row.processed_at is not None


def test_store_raw_only_flushes(session):
    row = store_raw(session, b"Subject: x\r\n\r\nbody\r\n", source=RawSource.smtp)
    assert row.id is not None
    assert row.status == RawStatus.received
    session.rollback()
    assert count(session, RawMessage) == 0


def test_same_message_id_is_ingested_once(session):
    first = ingest(session, mail())
    second = ingest(session, mail(body="Different bytes, same Message-ID."))
    assert first.status == RawStatus.ingested
    assert second.status == RawStatus.duplicate
    assert second.ticket_id == first.ticket_id
    assert second.message_id is None
    duplicate = session.get(RawMessage, second.raw_message_id)
    assert duplicate.status == RawStatus.duplicate
    assert duplicate.duplicate_of_id == first.raw_message_id
    assert count(session, Ticket) == 1
    assert count(session, Message) == 1


def test_message_without_message_id_is_deduplicated_by_raw_hash(session):
    raw = mail(message_id=None)
    first = ingest(session, raw)
    second = ingest(session, raw)
    assert first.status == RawStatus.ingested
    assert second.status == RawStatus.duplicate
    key = f"sha256:{hashlib.sha256(raw).hexdigest()}"
    assert session.get(SeenMessage, key).raw_message_id == first.raw_message_id
    assert count(session, Ticket) == 1


def test_messages_without_message_id_but_different_bytes_are_both_ingested(session):
    ingest(session, mail(message_id=None, subject="One"))
    ingest(session, mail(message_id=None, subject="Two"))
    assert count(session, Ticket) == 2


def test_same_mail_delivered_to_two_mailboxes_makes_one_ticket(session):
    support = make_mailbox(session)
    sales = make_mailbox(session, name="Sales", address="sales@helpdesk.test")
    raw = mail(headers={"Cc": "sales@helpdesk.test"})
    first = ingest(session, raw, mailbox=support, imap_uid=5)
    second = ingest(session, b"Delivered-To: sales@helpdesk.test\r\n" + raw, mailbox=sales)
    assert first.created_ticket
    assert second.status == RawStatus.duplicate
    assert count(session, Ticket) == 1


def test_refetch_after_crash_before_flagging_makes_no_second_ticket(session):
    mailbox = make_mailbox(session)
    first = ingest(session, mail(), mailbox=mailbox, imap_uid=9)
    # The poller died after the commit and before flagging UID 9, so it fetches it again.
    again = ingest(session, mail(), mailbox=mailbox, imap_uid=9)
    assert again.status == RawStatus.duplicate
    assert again.ticket_id == first.ticket_id
    assert count(session, Ticket) == 1
    assert count(session, RawMessage) == 2


def test_two_workers_ingesting_the_same_mail_at_once_make_one_ticket(session):
    raw = mail()
    barrier = threading.Barrier(2)
    results = []

    def worker():
        own = database.session()
        try:
            barrier.wait()
            results.append(ingest(own, raw).status)
        finally:
            own.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [RawStatus.duplicate, RawStatus.ingested]
    assert count(session, Ticket) == 1
    assert count(session, Message) == 1
