"""Idempotency-Key on POSTs: the first response to a key is stored with a hash of its
request; the same key and request get that response again, the same key with another
request is refused (422). Stored in the transaction of the change itself."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from helpdesk.api.models import IdempotentResponse

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    request_hash: str
    status_code: int
    body: str


def request_hash(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def stored_response(session: Session, token_id: int, key: str) -> StoredResponse | None:
    row = session.scalar(
        select(IdempotentResponse).where(
            IdempotentResponse.token_id == token_id, IdempotentResponse.key == key
        )
    )
    if row is None:
        return None
    return StoredResponse(row.request_hash, row.status_code, row.body)


def store_response(session: Session, token_id: int, key: str, response: StoredResponse) -> bool:
    """False when a concurrent request stored this key first (its change is then the one
    that counts; the caller rolls back its own). One INSERT ... ON CONFLICT DO NOTHING, not
    a savepoint around a plain insert: a round trip instead of three on every POST."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(IdempotentResponse)
        .values(
            token_id=token_id,
            key=key,
            request_hash=response.request_hash,
            status_code=response.status_code,
            body=response.body,
        )
        .on_conflict_do_nothing(index_elements=["token_id", "key"])
        .returning(IdempotentResponse.id)
    )
    return session.execute(statement).first() is not None
