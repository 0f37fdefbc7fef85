"""Tables of two-factor login: each user's TOTP secret and recovery codes, and the admin's
choice whether every staff member must use it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.db import Base, UTCDateTime, utcnow


class TwoFactorSecret(Base):
    """A user's authenticator secret; two-factor login is on once it is confirmed."""

    __tablename__ = "two_factor_secrets"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # Encrypted with a key derived from SECRET_KEY (helpdesk.auth.two_factor.SecretCipher),
    # so a copy of the database alone does not give anyone the codes.
    secret_encrypted: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # None while the user has scanned the code but not yet typed one back.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The 30-second step of the last accepted code: a code is accepted once only.
    last_used_step: Mapped[int | None] = mapped_column(Integer)
    # Code attempts in the current throttling window (reserved before each check).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    attempts_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(Base):
    """A single-use code for when the authenticator is lost; stored as a SHA-256 hash."""

    __tablename__ = "two_factor_recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TwoFactorSettings(Base):
    """One row (id 1): whether every staff member must log in with a second factor."""

    __tablename__ = "two_factor_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    enforced: Mapped[bool] = mapped_column(Boolean, default=False)
