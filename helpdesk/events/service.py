"""Recording events. `record_event` only adds to the caller's session: the event commits or
rolls back with the change it reports, so none is lost and none is invented.

Consumers learn of committed events through `on_events_committed` (a nudge, so they need
not poll hard); the rows are the truth, a missed nudge only delays them.
"""

from __future__ import annotations

import base64
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from helpdesk.db import utcnow
from helpdesk.events.models import Event

log = logging.getLogger(__name__)

EVENT_TYPES = (
    "ticket.created",
    "ticket.message_received",
    "ticket.replied",
    "ticket.status_changed",
    "ticket.assigned",
    "customer.created",
    "customer.updated",
    "customer.unsubscribed",
    "purchase.created",
    "delivery.bounced",
    "delivery.complained",
    "campaign.sent",
    "faq.article_published",
)

_RECORDED = "helpdesk.events.recorded"
_TO_CROCKFORD = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)
_committed_listeners: dict[str, Callable[[], None]] = {}


class Subject(NamedTuple):
    kind: str
    id: int


def new_event_uid() -> str:
    """A ULID-shaped id ("evt_" + 26 characters): sorts by creation time, unique without
    asking the database, so bulk paths can make thousands at once."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    # 26 Crockford digits are 130 bits: the value at the top of 17 bytes in base32, with
    # the alphabet swapped; a third faster than 26 divisions of the big number.
    digits = base64.b32encode((value << 6).to_bytes(17, "big"))[:26]
    return "evt_" + digits.translate(_TO_CROCKFORD).decode()


def record_event(
    session: Session, type: str, subject: Subject, payload: dict, *, now: datetime | None = None
) -> Event:
    """Add one event to the session's transaction."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    event_row = Event(
        uid=new_event_uid(),
        type=type,
        subject_kind=subject.kind,
        subject_id=subject.id,
        payload=payload,
        created_at=now or utcnow(),
    )
    session.add(event_row)
    session.info[_RECORDED] = True
    return event_row


def record_events(
    session: Session,
    type: str,
    items: Iterable[tuple[Subject, dict]],
    *,
    now: datetime | None = None,
) -> int:
    """Add many events of one type as one executemany INSERT (campaign sends, imports);
    returns how many."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    at = now or utcnow()
    rows = [
        {
            "uid": new_event_uid(),
            "type": type,
            "subject_kind": subject.kind,
            "subject_id": subject.id,
            "payload": payload,
            "created_at": at,
        }
        for subject, payload in items
    ]
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        _copy_events(session, rows)
    else:
        session.execute(insert(Event), rows)
    session.info[_RECORDED] = True
    return len(rows)


_COPIED = ("uid", "type", "subject_kind", "subject_id", "payload", "created_at")
_COPIED_TYPES = ("varchar", "varchar", "varchar", "int4", "json", "timestamptz")


def _copy_events(session: Session, rows: list[dict]) -> None:
    """COPY in binary: a thousand events (an API batch of orders) in one round trip,
    converted by psycopg, where an executemany INSERT cost more than the change they
    report."""
    # Events added one by one before these keep their place in the stream.
    session.flush()
    cursor = session.connection().connection.driver_connection.cursor()
    statement = f"COPY events ({', '.join(_COPIED)}) FROM STDIN (FORMAT BINARY)"
    with cursor, cursor.copy(statement) as copy:
        copy.set_types(list(_COPIED_TYPES))
        for row in rows:
            copy.write_row([row[name] for name in _COPIED])


def on_events_committed(name: str, callback: Callable[[], None]) -> None:
    """Call `callback` after each commit that carried events (one per consumer `name`; a
    second registration under the same name replaces the first)."""
    _committed_listeners[name] = callback


@event.listens_for(Session, "after_commit")
def _announce_committed(session: Session) -> None:
    if not session.info.pop(_RECORDED, False):
        return
    for name, callback in list(_committed_listeners.items()):
        try:
            callback()
        except Exception:  # a consumer's nudge must never fail the caller's commit
            log.exception("event consumer %s could not be told of new events", name)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_RECORDED, None)
