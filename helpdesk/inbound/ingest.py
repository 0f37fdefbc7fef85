"""Raw mail to tickets: store, dedupe, classify, thread or open a ticket, acknowledge.

Every transport (IMAP poller, SMTP gateway, contact form) hands raw RFC 5322 bytes to
`ingest_message`, or a fetched batch of them to `ingest_batch`. The bytes are committed
first, so nothing is lost whatever happens next; every raw row then ends as a ticket
message, a threaded auto-reply, a recorded bounce or complaint, a duplicate, a dropped
loop, or a quarantined message with its reason. The caller queues the acknowledgements
and the agents' notification mail the results name (`queue_after_ingest`), after the
commit.

This module is the way in; `batch` reads what a batch needs and writes what it adds,
`rules` takes each message through the rules, and `incoming` holds what they share.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import timedelta

from redis.exceptions import RedisError
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from helpdesk.config import Config
from helpdesk.db import database, insert_returning_ids, utcnow
from helpdesk.inbound.batch import _Batch
from helpdesk.inbound.incoming import (
    Incoming,
    IngestResult,
    IngestSettings,
    NotQuarantined,
    RawMessageNotFound,
    _Stored,
)
from helpdesk.mail.models import RawMessage, RawSource, RawStatus
from helpdesk.notifications.jobs import queue_notification_mail
from helpdesk.tickets.jobs import enqueue_ticket_message

log = logging.getLogger(__name__)

# A raw row still `received` this long after it was stored was left by a crash.
UNPROCESSED_GRACE = timedelta(seconds=30)
RECOVERY_BATCH = 200


def store_raw(
    session: Session,
    raw: bytes,
    *,
    source: RawSource,
    mailbox_id: int | None = None,
    imap_uid: int | None = None,
) -> RawMessage:
    """Keep the bytes exactly as received, before anything can go wrong with them."""
    row = RawMessage(
        source=source,
        mailbox_id=mailbox_id,
        imap_uid=imap_uid,
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        content=raw,
        status=RawStatus.received,
    )
    session.add(row)
    session.flush()
    return row


def ingest_message(
    session: Session,
    raw: bytes,
    *,
    source: RawSource,
    settings: IngestSettings,
    mailbox_id: int | None = None,
    imap_uid: int | None = None,
) -> IngestResult:
    """Store and ingest one message, committing twice; never raises for bad mail."""
    return ingest_batch(
        session, [Incoming(raw, imap_uid)], source=source, settings=settings, mailbox_id=mailbox_id
    )[0]


def ingest_batch(
    session: Session,
    messages: Sequence[Incoming],
    *,
    source: RawSource,
    settings: IngestSettings,
    mailbox_id: int | None = None,
) -> list[IngestResult]:
    """Store a batch of received messages and ingest them; one result per message, in order.

    The raw bytes of the whole batch are committed first, in one transaction; the batch
    is then ingested in a second one. Never raises for bad mail: a message whose ingest
    fails is quarantined on its own (see `_ingest_stored`).
    """
    if not messages:
        return []
    now = utcnow()
    rows = [
        {
            "source": source,
            "mailbox_id": mailbox_id,
            "imap_uid": message.imap_uid,
            "sha256": hashlib.sha256(message.raw).hexdigest(),
            "size": len(message.raw),
            "content": message.raw,
            "status": RawStatus.received,
            "received_at": now,
        }
        for message in messages
    ]
    ids = insert_returning_ids(session, RawMessage, rows)
    session.commit()
    stored = [
        _Stored(id_, m.raw, mailbox_id, m.parsed) for id_, m in zip(ids, messages, strict=True)
    ]
    return _ingest_stored(session, stored, settings)


def reprocess_quarantined(
    session: Session, raw_message_id: int, settings: IngestSettings
) -> IngestResult:
    """Run a quarantined message through ingest again (after a parser fix or an outage)."""
    row = session.get(RawMessage, raw_message_id)
    if row is None:
        raise RawMessageNotFound(f"raw message {raw_message_id} does not exist")
    # Conditional, so two admins pressing the button at once cannot both ingest it.
    taken = session.execute(
        update(RawMessage)
        .where(RawMessage.id == raw_message_id, RawMessage.status == RawStatus.quarantined)
        .values(status=RawStatus.received, status_reason="", processed_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        raise NotQuarantined(f"raw message {raw_message_id} is {row.status}, not quarantined")
    stored = _Stored(row.id, row.content, row.mailbox_id)
    session.expire(row)
    return _ingest_stored(session, [stored], settings)[0]


def ingest_left_unprocessed(
    session: Session,
    settings: IngestSettings,
    *,
    older_than: timedelta = UNPROCESSED_GRACE,
    batch_size: int = RECOVERY_BATCH,
    polled_mailbox_id: int | None = None,
) -> list[IngestResult]:
    """Ingest raw rows a crash left `received` (stored, then the process died before its
    ingest committed), each exactly once. Run at every poll and when the gateway or
    `helpdesk run` starts; the caller queues what the results name (`queue_after_ingest`).

    `older_than` leaves alone what a live process has just stored and is ingesting; the
    row locks taken in `_ingest_stored` make it safe even when that is not enough.
    A poller passes `polled_mailbox_id`, the mailbox whose poll lock it holds: what that
    mailbox's IMAP poll stored is taken at once, whatever its age, since the poller that
    stored it is dead (a poller killed and restarted at once must not leave its mail
    waiting for the next poll).
    """
    cutoff = utcnow() - older_than
    left = RawMessage.received_at < cutoff
    if polled_mailbox_id is not None:
        left = or_(
            left,
            and_(RawMessage.mailbox_id == polled_mailbox_id, RawMessage.source == RawSource.imap),
        )
    results: list[IngestResult] = []
    last_id = 0
    while True:
        rows = session.execute(
            select(RawMessage.id, RawMessage.content, RawMessage.mailbox_id)
            .where(RawMessage.status == RawStatus.received, left, RawMessage.id > last_id)
            .order_by(RawMessage.id)
            .limit(batch_size)
        ).all()
        session.commit()
        if not rows:
            return results
        last_id = rows[-1].id
        log.warning("ingesting %d stored messages a crash left unprocessed", len(rows))
        stored = [_Stored(row.id, row.content, row.mailbox_id) for row in rows]
        results += _ingest_stored(session, stored, settings)


def recover_unprocessed(config: Config, *, polled_mailbox_id: int | None = None) -> int:
    """`ingest_left_unprocessed` in a session of its own, with the receipts queued;
    returns how many messages it took in."""
    database.configure(config.database_url)
    with database.session() as session:
        results = ingest_left_unprocessed(
            session, IngestSettings.from_config(config), polled_mailbox_id=polled_mailbox_id
        )
    queue_after_ingest(config, results)
    return len(results)


def unprocessed_messages(session: Session, older_than: timedelta = UNPROCESSED_GRACE):
    """Raw rows still waiting for ingest longer than `older_than`: (id, mailbox id,
    received at), oldest first, for the admin's mailbox page."""
    cutoff = utcnow() - older_than
    return session.execute(
        select(RawMessage.id, RawMessage.mailbox_id, RawMessage.received_at)
        .where(RawMessage.status == RawStatus.received, RawMessage.received_at < cutoff)
        .order_by(RawMessage.received_at)
    ).all()


def _ingest_stored(
    session: Session, stored: list[_Stored], settings: IngestSettings
) -> list[IngestResult]:
    """Ingest committed raw rows in one transaction and commit it.

    The rows are locked first, and only those still `received` are ingested: whoever
    ingests a row (the process that stored it, or a recovery after a crash) holds its lock
    until the commit, so no row is ingested twice. The others keep the outcome already
    recorded for them.

    A batch is all or nothing: when anything in it fails, it is rolled back and each
    message is ingested again on its own, so a message that breaks ingest costs only its
    own quarantine and the others land as usual.
    """
    try:
        waiting = _lock_waiting(session, [item.id for item in stored])
        taken = [item for item in stored if item.id in waiting]
        results = _Batch(session, settings).run(taken) if taken else []
        session.commit()
        if len(taken) == len(stored):
            return results
        return _in_order(session, stored, results)
    except Exception as exc:
        session.rollback()
        if len(stored) > 1:
            log.warning("ingest of a batch failed (%s); ingesting its messages one by one", exc)
            return [result for one in stored for result in _ingest_stored(session, [one], settings)]
        # The poller must go on to the next message, and this one must not vanish:
        # everything it did is rolled back and the stored bytes wait in quarantine.
        raw_message_id = stored[0].id
        log.exception("ingest of raw message %s failed", raw_message_id)
        reason = f"ingest failed: {type(exc).__name__}: {exc}"[:2000]
        session.execute(
            update(RawMessage)
            .where(RawMessage.id == raw_message_id)
            .values(status=RawStatus.quarantined, status_reason=reason, processed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return [IngestResult(raw_message_id, RawStatus.quarantined, reason=reason)]


def _lock_waiting(session: Session, ids: list[int]) -> set[int]:
    """Lock the rows (until the commit) and return those still waiting for ingest.
    SQLite's BEGIN IMMEDIATE already gives this transaction the only write lock."""
    return set(
        session.scalars(
            select(RawMessage.id)
            .where(RawMessage.id.in_(ids), RawMessage.status == RawStatus.received)
            .with_for_update()
        )
    )


def _in_order(
    session: Session, stored: list[_Stored], results: list[IngestResult]
) -> list[IngestResult]:
    """One result per stored row, in order: the new ones, and for rows someone else
    ingested meanwhile, what was recorded for them."""
    new = {result.raw_message_id: result for result in results}
    others = {
        row.id: IngestResult(row.id, row.status, ticket_id=row.ticket_id, reason=row.status_reason)
        for row in session.execute(
            select(
                RawMessage.id, RawMessage.status, RawMessage.ticket_id, RawMessage.status_reason
            ).where(RawMessage.id.in_([item.id for item in stored if item.id not in new]))
        )
    }
    session.commit()
    return [new.get(item.id) or others[item.id] for item in stored]


def queue_after_ingest(config: Config, outcomes: list[IngestResult]) -> None:
    """Hand the committed receipts, and the agents' notification mail, to the mail queue.

    Called after the commit, so the worker finds the rows. When Redis is unreachable
    the receipt stays queued in the database and the notifications wait for the
    worker's minute check; taking in the mail matters more.
    """
    if any(outcome.notification_mail for outcome in outcomes):
        queue_notification_mail(config)
    for outcome in outcomes:
        if outcome.acknowledgement_id is None:
            continue
        try:
            enqueue_ticket_message(config, outcome.acknowledgement_id)
        except RedisError as exc:
            log.warning("acknowledgement %s not queued: %s", outcome.acknowledgement_id, exc)
