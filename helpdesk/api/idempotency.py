"""Idempotency-Key on POSTs: the first response to a key is stored with a hash of its
request; the same key and request get that response again, the same key with another
request is refused (422).

The key is reserved, and the reservation committed, before the request's change runs, so
that two requests sent at once with the same key cannot both run it: the second is told
to retry (409) while the first runs. The response is stored in the transaction of the
change itself. A reservation whose request failed is released; one left by a request that
died is taken over once its lease is over. Keys are forgotten after their time to live.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from helpdesk.api.models import IdempotentResponse
from helpdesk.db import utcnow

MAX_KEY_LENGTH = 255
PURGE_BATCH = 5000


@dataclass(frozen=True)
class StoredResponse:
    request_hash: str
    status_code: int
    body: str


@dataclass(frozen=True)
class Reservation:
    """This request holds the key: it runs the change and then `complete`s the row."""

    row_id: int
    reserved_at: datetime


class KeyInUse(Exception):
    """Another request with this key is still running."""


class KeyReused(Exception):
    """The key was first used with another request."""


def request_hash(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def reserve(
    session: Session,
    token_id: int,
    key: str,
    fingerprint: str,
    *,
    ttl: timedelta,
    lease: timedelta,
    now: datetime | None = None,
) -> Reservation | StoredResponse:
    """Reserve the key for this request and commit, or return the response to replay.
    Raises KeyInUse while the request holding it runs, KeyReused for another request."""
    now = now or utcnow()
    of_key = (IdempotentResponse.token_id == token_id, IdempotentResponse.key == key)
    session.execute(
        delete(IdempotentResponse).where(*of_key, IdempotentResponse.created_at < now - ttl)
    )
    try:
        with session.begin_nested():
            row = IdempotentResponse(
                token_id=token_id, key=key, request_hash=fingerprint, created_at=now
            )
            session.add(row)
            session.flush()
    except IntegrityError:
        # PostgreSQL makes this insert wait for a concurrent one's commit; either way the
        # row that won is there to read now.
        row = session.scalar(select(IdempotentResponse).where(*of_key))
        if row is None:  # deleted meanwhile (released, or expired): the client retries
            raise KeyInUse from None
        if row.request_hash != fingerprint:
            raise KeyReused from None
        if row.status_code is not None:
            return StoredResponse(row.request_hash, row.status_code, row.body)
        if row.created_at > now - lease or not _take_over(session, row, now):
            raise KeyInUse from None
    session.commit()
    return Reservation(row.id, now)


def _take_over(session: Session, row: IdempotentResponse, now: datetime) -> bool:
    """Hold a reservation whose request is presumed dead; False when another request was
    quicker (only one conditional UPDATE matches)."""
    return (
        session.execute(
            update(IdempotentResponse)
            .where(
                IdempotentResponse.id == row.id,
                IdempotentResponse.status_code.is_(None),
                IdempotentResponse.created_at == row.created_at,
            )
            .values(created_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def _held(reservation: Reservation):
    return (
        IdempotentResponse.id == reservation.row_id,
        IdempotentResponse.status_code.is_(None),
        IdempotentResponse.created_at == reservation.reserved_at,
    )


def complete(session: Session, reservation: Reservation, status_code: int, body: str) -> bool:
    """Store the response in the caller's transaction; False when the reservation was
    taken over meanwhile (this request ran past its lease): the caller rolls back."""
    return (
        session.execute(
            update(IdempotentResponse)
            .where(*_held(reservation))
            .values(status_code=status_code, body=body)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def release(session: Session, reservation: Reservation) -> None:
    """Free the key of a request that was refused or failed, so it can be sent again."""
    session.execute(delete(IdempotentResponse).where(*_held(reservation)))


def purge_expired(session: Session, ttl: timedelta, now: datetime | None = None) -> int:
    """Forget keys older than `ttl`, a batch at a time (each batch its own commit, so a
    large backlog holds no long lock); returns how many."""
    cutoff = (now or utcnow()) - ttl
    purged = 0
    while True:
        ids = list(
            session.scalars(
                select(IdempotentResponse.id)
                .where(IdempotentResponse.created_at < cutoff)
                .limit(PURGE_BATCH)
            )
        )
        if not ids:
            return purged
        session.execute(delete(IdempotentResponse).where(IdempotentResponse.id.in_(ids)))
        session.commit()
        purged += len(ids)
