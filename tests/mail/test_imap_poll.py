"""The IMAP poller against a real Dovecot: mail becomes tickets, nothing lost, nothing twice."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.db import utcnow
from helpdesk.inbound.ingest import store_raw
from helpdesk.inbound.poll import poll_mailbox
from helpdesk.mail.imap import SEEN
from helpdesk.mail.models import Mailbox, RawMessage, RawSource, RawStatus
from helpdesk.tickets.models import Message, MessageKind, Ticket
from tests.tickets.mails import mail


def numbered(n: int, body: str = "Hello, my order has not arrived.") -> bytes:
    return mail(
        body,
        subject=f"Question {n}",
        sender=f"Customer {n} <customer{n}@example.com>",
        message_id=f"<q{n}@example.com>",
    )


# The test's reads end their transaction at once: on SQLite an open one would hold the
# write lock (BEGIN IMMEDIATE) that the poller needs.
def count(session, model, *where) -> int:
    number = session.scalar(select(func.count()).select_from(model).where(*where))
    session.commit()
    return number


def reload(session, mailbox: Mailbox) -> Mailbox:
    fresh = session.get(Mailbox, mailbox.id, populate_existing=True)
    session.commit()
    return fresh


def test_new_mail_becomes_tickets(session, config, imap_mailbox, imap_account):
    imap_account.append(numbered(1), numbered(2))

    result = poll_mailbox(imap_mailbox.id, config)

    assert (result.fetched, result.ingested, result.duplicates, result.error) == (2, 2, 0, "")
    assert sorted(session.scalars(select(Ticket.subject))) == ["Question 1", "Question 2"]
    raws = session.scalars(select(RawMessage).order_by(RawMessage.imap_uid)).all()
    assert [(r.source, r.imap_uid, r.mailbox_id) for r in raws] == [
        (RawSource.imap, 1, imap_mailbox.id),
        (RawSource.imap, 2, imap_mailbox.id),
    ]
    mailbox = reload(session, imap_mailbox)
    assert (mailbox.last_uid, mailbox.last_poll_fetched, mailbox.total_fetched) == (2, 2, 2)
    assert mailbox.last_poll_at is not None and mailbox.last_error == ""


def test_second_poll_fetches_only_new_mail(session, config, imap_mailbox, imap_account):
    imap_account.append(numbered(1))
    poll_mailbox(imap_mailbox.id, config)
    imap_account.append(numbered(2))

    result = poll_mailbox(imap_mailbox.id, config)

    assert (result.fetched, result.duplicates) == (1, 0)
    assert count(session, RawMessage) == 2
    assert reload(session, imap_mailbox).total_fetched == 2


def test_seen_is_flagged_only_after_the_message_is_committed(
    session, config, imap_mailbox, imap_account
):
    imap_account.append(numbered(1), numbered(2))
    observed = {}

    def after_commit(uid):
        observed[uid] = (
            imap_account.flags()[uid],
            count(session, RawMessage, RawMessage.imap_uid == uid),
        )

    poll_mailbox(imap_mailbox.id, config, after_commit=after_commit)

    assert all(SEEN not in flags and stored == 1 for flags, stored in observed.values())
    assert all(SEEN in flags for flags in imap_account.flags().values())


def test_batches_are_committed_and_flagged_one_after_another(
    session, config, imap_mailbox, imap_account
):
    imap_account.append(*(numbered(n) for n in range(1, 6)))
    seen_when_committed = {}

    def after_commit(uid):
        flags = imap_account.flags()
        seen_when_committed[uid] = sorted(u for u, f in flags.items() if SEEN in f)

    result = poll_mailbox(imap_mailbox.id, config, batch_size=2, after_commit=after_commit)

    assert result.fetched == 5 and count(session, Ticket) == 5
    assert seen_when_committed == {1: [], 2: [], 3: [1, 2], 4: [1, 2], 5: [1, 2, 3, 4]}


def test_batches_are_cut_by_size_as_well_as_count(session, config, imap_mailbox, imap_account):
    big = "A long description of the problem. " * 150  # about 5 KB
    imap_account.append(numbered(1), numbered(2), numbered(3, big), numbered(4), numbered(5))
    seen_when_committed = {}

    def after_commit(uid):
        flags = imap_account.flags()
        seen_when_committed[uid] = sorted(u for u, f in flags.items() if SEEN in f)

    small_batches = replace(config, mailbox_poll_batch_bytes=2_000)
    result = poll_mailbox(imap_mailbox.id, small_batches, batch_size=3, after_commit=after_commit)

    assert result.fetched == 5 and count(session, Ticket) == 5
    # The big message is fetched on its own; the small ones around it in pairs.
    assert seen_when_committed == {1: [], 2: [], 3: [1, 2], 4: [1, 2, 3], 5: [1, 2, 3]}


def test_poll_leaves_no_reader_thread_behind(session, config, imap_mailbox, imap_account):
    imap_account.append(numbered(1), numbered(2), numbered(3))

    poll_mailbox(imap_mailbox.id, config, batch_size=1, time_budget=0)

    assert not [t for t in threading.enumerate() if t.name == "imap-reader"]


def test_mail_already_read_by_a_person_is_still_taken_in(
    session, config, imap_mailbox, imap_account
):
    imap_account.append(numbered(1), flags=[SEEN])

    result = poll_mailbox(imap_mailbox.id, config)

    assert result.ingested == 1 and count(session, Ticket) == 1


def test_taken_mail_moves_to_the_archive_folder(session, config, imap_mailbox, imap_account):
    imap_mailbox.archive_folder = "Archive"
    session.commit()
    imap_account.append(numbered(1), numbered(2))

    poll_mailbox(imap_mailbox.id, config)

    assert imap_account.uids("INBOX") == []
    assert len(imap_account.uids("Archive")) == 2
    assert all(SEEN in flags for flags in imap_account.flags("Archive").values())
    assert count(session, Ticket) == 2


def test_uidvalidity_change_rescans_the_folder_without_duplicates(
    session, config, imap_mailbox, imap_account
):
    imap_mailbox.imap_folder = "Support"
    session.commit()
    imap_account.append(numbered(1), numbered(2), folder="Support")
    poll_mailbox(imap_mailbox.id, config)
    old_validity = reload(session, imap_mailbox).uidvalidity

    # The new mail gets UID 1 in the recreated folder, below the old last_uid of 2: only a
    # rescan finds it.
    new_validity = imap_account.recreate_folder("Support", first=[numbered(3)])
    result = poll_mailbox(imap_mailbox.id, config)

    assert new_validity != old_validity
    assert (result.fetched, result.ingested, result.duplicates) == (3, 1, 2)
    assert count(session, Ticket) == 3
    mailbox = reload(session, imap_mailbox)
    assert (mailbox.uidvalidity, mailbox.last_uid) == (new_validity, 3)


def test_crash_between_commit_and_flag_causes_no_duplicate(
    session, config, imap_mailbox, imap_account
):
    imap_account.append(numbered(1), numbered(2), numbered(3))

    def crash_after_second(uid):
        if uid == 2:
            raise RuntimeError("killed between commit and flag")

    # UIDs 1 and 2 are one batch, committed together; the crash comes before flagging it.
    with pytest.raises(RuntimeError):
        poll_mailbox(imap_mailbox.id, config, batch_size=2, after_commit=crash_after_second)
    assert count(session, Ticket) == 2
    assert not any(SEEN in flags for flags in imap_account.flags().values())

    result = poll_mailbox(imap_mailbox.id, config)

    assert (result.fetched, result.ingested, result.duplicates) == (3, 1, 2)
    assert count(session, Ticket) == 3
    assert count(session, Message, Message.kind == MessageKind.customer) == 3
    assert all(SEEN in flags for flags in imap_account.flags().values())


def test_connection_dropped_mid_fetch_loses_nothing_and_duplicates_nothing(
    session, config, imap_mailbox, imap_account, cutting_proxy
):
    padding = "A long description of the problem. " * 150  # about 5 KB per message
    imap_account.append(*(numbered(n, padding) for n in range(1, 7)))
    proxy = cutting_proxy(limit=14_000)  # greeting, login, two messages, part of a third
    imap_mailbox.imap_port = proxy.port
    session.commit()

    broken = poll_mailbox(imap_mailbox.id, config, batch_size=2)

    assert proxy.cuts == 1 and broken.error
    assert 0 < count(session, Ticket) < 6
    assert reload(session, imap_mailbox).last_error == broken.error

    imap_mailbox = reload(session, imap_mailbox)
    imap_mailbox.imap_port = imap_account.port
    session.commit()
    result = poll_mailbox(imap_mailbox.id, config, batch_size=2)

    assert result.error == ""
    assert count(session, Ticket) == 6
    assert count(session, RawMessage, RawMessage.status == RawStatus.ingested) == 6
    mailbox = reload(session, imap_mailbox)
    assert (mailbox.last_uid, mailbox.last_error) == (6, "")


def test_overlapping_poll_of_the_same_mailbox_is_skipped(
    session, config, imap_mailbox, imap_account
):
    imap_account.append(numbered(1))
    overlapping = []

    def poll_again(uid):
        overlapping.append(poll_mailbox(imap_mailbox.id, config))

    first = poll_mailbox(imap_mailbox.id, config, after_commit=poll_again)

    assert first.fetched == 1
    assert overlapping[0].skipped == "already running" and overlapping[0].fetched == 0
    assert count(session, RawMessage) == 1
    assert poll_mailbox(imap_mailbox.id, config).skipped == ""


def test_wrong_password_is_recorded_without_the_password(
    session, config, imap_mailbox, imap_account, monkeypatch, caplog
):
    wrong = "Wr0ng-Secret-Passw0rd"
    monkeypatch.setenv("HELPDESK_TEST_IMAP_PASSWORD", wrong)
    imap_account.append(numbered(1))
    caplog.set_level(logging.DEBUG)

    result = poll_mailbox(imap_mailbox.id, config)

    mailbox = reload(session, imap_mailbox)
    assert result.error and mailbox.last_error == result.error
    assert "LoginError" in mailbox.last_error and mailbox.last_error_at is not None
    assert wrong not in mailbox.last_error and wrong not in caplog.text
    assert count(session, RawMessage) == 0


def test_missing_password_reference_is_recorded(session, config, imap_mailbox, monkeypatch):
    monkeypatch.delenv("HELPDESK_TEST_IMAP_PASSWORD")

    result = poll_mailbox(imap_mailbox.id, config)

    assert "HELPDESK_TEST_IMAP_PASSWORD" in result.error
    assert reload(session, imap_mailbox).last_error == result.error


def test_poll_within_a_size_budget_continues_next_time(session, config, imap_mailbox, imap_account):
    imap_account.append(numbered(1), numbered(2), numbered(3))

    first = poll_mailbox(imap_mailbox.id, config, batch_size=1, size_budget=1)
    assert (first.fetched, first.complete) == (1, False)
    while not poll_mailbox(imap_mailbox.id, config, batch_size=1, size_budget=1).complete:
        pass

    assert count(session, Ticket) == 3
    assert count(session, RawMessage, RawMessage.status == RawStatus.duplicate) == 0


def test_first_poll_imports_old_mail_without_acknowledging_it(
    session, config, imap_mailbox, imap_account
):
    now = utcnow()
    imap_mailbox.send_acknowledgement = True
    imap_mailbox.start_date = now - timedelta(hours=1)
    session.commit()
    old = mail(
        "Sent long ago", subject="Old", sender="old@example.com", message_id="<old@example.com>"
    )
    new = mail(
        "Sent just now",
        subject="New",
        sender="new@example.com",
        message_id="<new@example.com>",
        date=now.strftime("%a, %d %b %Y %H:%M:%S +0000"),
    )
    imap_account.append(old, new)

    poll_mailbox(imap_mailbox.id, config)

    assert sorted(session.scalars(select(Ticket.subject))) == ["New", "Old"]
    acknowledged = session.scalars(
        select(Ticket.subject)
        .join(Message, Message.ticket_id == Ticket.id)
        .where(Message.kind == MessageKind.acknowledgement)
    ).all()
    assert acknowledged == ["New"]


def test_poll_out_of_time_still_takes_one_batch(session, config, imap_mailbox, imap_account):
    imap_account.append(numbered(1), numbered(2), numbered(3))

    result = poll_mailbox(imap_mailbox.id, config, batch_size=2, time_budget=0)

    assert (result.fetched, result.complete) == (2, False)
    assert reload(session, imap_mailbox).last_uid == 2


def test_a_poll_first_takes_in_what_a_crash_left_stored_but_unprocessed(
    session, config, imap_mailbox, imap_account
):
    left = store_raw(session, numbered(1), source=RawSource.imap, mailbox_id=imap_mailbox.id)
    left.received_at = utcnow() - timedelta(minutes=5)
    session.commit()

    result = poll_mailbox(imap_mailbox.id, config)

    assert (result.recovered, result.fetched) == (1, 0)
    assert count(session, Ticket) == 1
    assert count(session, RawMessage, RawMessage.status == RawStatus.received) == 0


def test_a_poll_takes_in_at_once_what_a_killed_poll_of_its_mailbox_just_stored(
    session, config, imap_mailbox, imap_account
):
    # Stored a moment ago by a poller killed before its ingest committed; the poll that
    # now holds the mailbox's lock knows that poller is gone.
    store_raw(session, numbered(1), source=RawSource.imap, mailbox_id=imap_mailbox.id)
    session.commit()

    result = poll_mailbox(imap_mailbox.id, config)

    assert (result.recovered, result.fetched) == (1, 0)
    assert count(session, RawMessage, RawMessage.status == RawStatus.received) == 0


def test_a_poll_leaves_what_the_gateway_just_stored_to_the_gateway(
    session, config, imap_mailbox, imap_account
):
    store_raw(session, numbered(1), source=RawSource.smtp, mailbox_id=imap_mailbox.id)
    session.commit()

    result = poll_mailbox(imap_mailbox.id, config)

    assert result.recovered == 0
    assert count(session, RawMessage, RawMessage.status == RawStatus.received) == 1
