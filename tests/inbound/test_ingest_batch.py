"""A fetched batch is stored in one commit and ingested in a second, each message by its rules."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from helpdesk.customers.models import Customer
from helpdesk.inbound import incoming
from helpdesk.inbound.incoming import Incoming, IngestSettings
from helpdesk.inbound.ingest import ingest_batch
from helpdesk.mail.models import RawMessage, RawSource, RawStatus
from helpdesk.tickets.models import Message, MessageKind, Ticket
from tests.factories import make_mailbox
from tests.tickets.mails import SETTINGS, SUPPORT, mail


def batch(session, *raws: bytes, mailbox=None, settings=SETTINGS):
    return ingest_batch(
        session,
        [Incoming(raw, imap_uid=uid) for uid, raw in enumerate(raws, start=1)],
        source=RawSource.imap,
        settings=settings,
        mailbox_id=mailbox.id if mailbox is not None else None,
    )


def numbered(n: int, **kwargs) -> bytes:
    return mail(
        subject=f"Question {n}",
        sender=f"Customer {n} <customer{n}@example.com>",
        message_id=f"<q{n}@example.com>",
        **kwargs,
    )


def test_batch_gives_one_result_per_message_in_order(session):
    mailbox = make_mailbox(session)

    results = batch(session, numbered(1), numbered(2), numbered(3), mailbox=mailbox)

    assert [r.status for r in results] == [RawStatus.ingested] * 3
    subjects = [session.get(Ticket, r.ticket_id).subject for r in results]
    assert subjects == ["Question 1", "Question 2", "Question 3"]
    raws = [session.get(RawMessage, r.raw_message_id) for r in results]
    assert [(raw.imap_uid, raw.status, raw.ticket_id) for raw in raws] == [
        (n, RawStatus.ingested, r.ticket_id) for n, r in enumerate(results, start=1)
    ]
    assert all(session.get(Message, r.message_id).ticket_id == r.ticket_id for r in results)


def test_reply_threads_to_a_ticket_opened_earlier_in_the_same_batch(session):
    first, reply = batch(
        session,
        mail(),
        mail(message_id="<m2@example.com>", headers={"In-Reply-To": "<m1@example.com>"}),
    )

    assert first.created_ticket and not reply.created_ticket
    assert reply.ticket_id == first.ticket_id
    assert session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_same_message_twice_in_one_batch_makes_one_ticket(session):
    first, second = batch(session, mail(), mail(body="Same Message-ID, other bytes."))

    assert first.status == RawStatus.ingested
    assert second.status == RawStatus.duplicate
    assert second.ticket_id == first.ticket_id
    duplicate = session.get(RawMessage, second.raw_message_id)
    assert duplicate.duplicate_of_id == first.raw_message_id
    assert session.scalar(select(func.count()).select_from(Message)) == 1


def test_message_that_breaks_ingest_is_quarantined_alone(session, monkeypatch):
    real_parse = incoming.parse_message

    def parse_breaking_on_the_second(raw, **kwargs):
        if b"<q2@example.com>" in raw:
            raise RuntimeError("parser bug")
        return real_parse(raw, **kwargs)

    monkeypatch.setattr(incoming, "parse_message", parse_breaking_on_the_second)

    results = batch(session, numbered(1), numbered(2), numbered(3))

    assert [r.status for r in results] == [
        RawStatus.ingested,
        RawStatus.quarantined,
        RawStatus.ingested,
    ]
    assert "RuntimeError: parser bug" in results[1].reason
    session.expire_all()
    broken = session.get(RawMessage, results[1].raw_message_id)
    assert (broken.status, broken.content) == (RawStatus.quarantined, numbered(2))
    assert sorted(session.scalars(select(Ticket.subject))) == ["Question 1", "Question 3"]


def test_raw_bytes_of_the_batch_are_committed_before_ingest_begins(session, monkeypatch):
    stored_when_parsing = []

    def count_committed_raw(raw, **kwargs):
        # A second connection sees only what is committed.
        with session.get_bind().connect() as other:
            stored_when_parsing.append(other.scalar(select(func.count()).select_from(RawMessage)))
        raise RuntimeError("stop here")

    monkeypatch.setattr(incoming, "parse_message", count_committed_raw)

    results = batch(session, numbered(1), numbered(2))

    assert stored_when_parsing and set(stored_when_parsing) == {2}
    assert [r.status for r in results] == [RawStatus.quarantined] * 2


def test_acknowledgement_rate_limit_counts_receipts_of_the_same_batch(session):
    mailbox = make_mailbox(session, send_acknowledgement=True)
    settings = IngestSettings(secret_key=SETTINGS.secret_key, domain="helpdesk.test", ack_limit=2)

    results = batch(
        session,
        *(mail(message_id=f"<r{n}@example.com>", subject=f"Q{n}") for n in range(3)),
        mailbox=mailbox,
        settings=settings,
    )

    assert [r.acknowledgement_id is not None for r in results] == [True, True, False]
    acks = session.scalars(select(Message).where(Message.kind == MessageKind.acknowledgement))
    assert sorted((a.ticket_id, a.subject) for a in acks) == sorted(
        (r.ticket_id, f"Re: Q{n} [#{r.ticket_id}]") for n, r in enumerate(results[:2])
    )


def statements_of(session, work) -> list[str]:
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return statements


def test_a_batch_of_new_tickets_costs_as_many_statements_whatever_its_size(session):
    mailbox = make_mailbox(session)
    batch(session, *(numbered(n) for n in range(1, 21)), mailbox=mailbox)  # known customers

    def again(numbers, round_):
        return [
            numbered(n, headers={"Message-ID": f"<again{round_}-{n}@example.com>"}) for n in numbers
        ]

    few = statements_of(session, lambda: batch(session, *again(range(1, 4), 1), mailbox=mailbox))
    many = statements_of(session, lambda: batch(session, *again(range(4, 21), 2), mailbox=mailbox))

    assert len(many) == len(few), many


def test_a_batch_of_replies_costs_as_many_statements_whatever_its_size(session):
    mailbox = make_mailbox(session)
    batch(session, *(numbered(n) for n in range(1, 11)), mailbox=mailbox)

    def replies(numbers, round_):
        return [
            numbered(
                n,
                headers={
                    "Message-ID": f"<r{round_}-{n}@example.com>",
                    "In-Reply-To": f"<q{n}@example.com>",
                },
            )
            for n in numbers
        ]

    few = statements_of(session, lambda: batch(session, *replies(range(1, 3), 1), mailbox=mailbox))
    many = statements_of(
        session, lambda: batch(session, *replies(range(3, 11), 2), mailbox=mailbox)
    )

    # No due-time query or version update per reply.
    assert len(many) == len(few), many


def query_plans_of(session, work) -> list[tuple[str, str]]:
    """(statement, step) for each step of SQLite's plan of each SELECT that `work` runs."""
    queries = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("SELECT") and not executemany:
            queries.append((statement, parameters))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    connection = session.connection()
    return [
        (statement, row[3])
        for statement, parameters in queries
        for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
    ]


def test_batch_lookups_use_the_index_of_what_they_look_up_on_sqlite(session):
    """SQLite has no statistics to plan by: a lookup by Message-IDs that also names a
    status would walk the status index, every raw message ever taken in, on each batch."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("PostgreSQL plans from statistics; these are SQLite's plans")
    mailbox = make_mailbox(session)
    batch(session, *(numbered(n) for n in range(1, 6)), mailbox=mailbox)
    replies = [
        numbered(
            n, headers={"Message-ID": f"<r{n}@example.com>", "In-Reply-To": f"<q{n}@example.com>"}
        )
        for n in range(1, 6)
    ]

    plans = query_plans_of(session, lambda: batch(session, *replies, mailbox=mailbox))

    large = {"raw_messages", "seen_messages", "messages", "tickets", "customers"}
    walks = [
        (statement, step)
        for statement, step in plans
        if step.endswith("ix_raw_messages_status (status=?)")
        or (step.startswith("SCAN ") and step.split()[1] in large)
    ]
    assert plans
    assert walks == []


def test_replies_in_a_batch_keep_the_due_time_of_the_first_unanswered_message(session):
    mailbox = make_mailbox(session)
    (first,) = batch(session, mail(), mailbox=mailbox)
    due = session.get(Ticket, first.ticket_id).response_due_at

    batch(
        session,
        mail(message_id="<m2@example.com>", headers={"In-Reply-To": "<m1@example.com>"}),
        mail(message_id="<m3@example.com>", headers={"In-Reply-To": "<m2@example.com>"}),
        mailbox=mailbox,
    )

    ticket = session.get(Ticket, first.ticket_id, populate_existing=True)
    assert ticket.response_due_at == due


def test_a_batch_creates_customers_only_for_its_customer_mail(session):
    mailbox = make_mailbox(session)
    bounce = mail(
        "Delivery failed.",
        sender="Mail Delivery System <MAILER-DAEMON@mx.example.net>",
        message_id="<bounce@mx.example.net>",
        headers={"X-Failed-Recipients": "gone@example.com"},
    )
    out_of_office = mail(
        "I am away.",
        sender="Away <away@example.org>",
        message_id="<ooo@example.org>",
        headers={"Auto-Submitted": "auto-replied"},
    )
    own = mail(sender=f"Support <{SUPPORT}>", message_id="<own@helpdesk.test>")

    batch(session, bounce, out_of_office, own, numbered(1), mailbox=mailbox)

    assert session.scalars(select(Customer.email)).all() == ["customer1@example.com"]
