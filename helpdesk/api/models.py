"""API tokens and the stored responses of POSTs sent with an Idempotency-Key."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.auth.models import User
from helpdesk.db import Base, UTCDateTime, utcnow


class TokenKind(enum.StrEnum):
    # A person's own token: it can never do more than its owner's role allows now.
    personal = "personal"
    # An integration's token (the shop, the accounting system), made by an admin.
    service = "service"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[TokenKind] = mapped_column(Enum(TokenKind, native_enum=False, length=20))
    name: Mapped[str] = mapped_column(String(100))
    # The first characters of the token, shown in lists so people can tell tokens apart;
    # the token itself is only ever stored as its SHA-256 (it is 256 random bits, so a
    # slow password hash would add nothing).
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # personal: the owner; service: None (the admin who made it is created_by).
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Requests per rate-limit window; None: the configured default (API_RATE_LIMIT).
    rate_limit: Mapped[int | None] = mapped_column(Integer)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])


class IdempotentResponse(Base):
    """The response first given to a POST with an Idempotency-Key, replayed when the same
    token sends the same key and body again. The key is reserved (committed) before the
    change runs, and the response stored in the transaction of the change itself, so a
    key is never answered with a change that rolled back."""

    __tablename__ = "api_idempotent_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of method, path and body: the same key with another request is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    # None while the request that reserved the key still runs: a duplicate sent meanwhile
    # is told to retry (409) instead of running the change a second time.
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text, default="")
    # When the request holding the key began: a reservation older than the lease
    # (API_IDEMPOTENCY_LEASE_SECONDS) was left by a crashed request and is taken over; a
    # key older than API_IDEMPOTENCY_TTL_HOURS is forgotten.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    __table_args__ = (UniqueConstraint("token_id", "key"),)
