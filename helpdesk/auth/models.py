"""Staff accounts and the record of login attempts used for throttling."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    admin = "admin"
    agent = "agent"
    marketer = "marketer"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_manager: Mapped[bool] = mapped_column(Boolean, default=False)
    # Round-robin assignment skips agents who are away.
    is_available: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(10))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Revocable sessions: every login cookie carries the version it was issued under, and
    # a cookie of an older version no longer logs anyone in. Logout, a password change, a
    # role change, deactivation and "log out other sessions" move it on.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Plain text under the agent's replies, placed inside the mailbox's signature:
    # `signature` for replies in English, `signature_ko` for replies in Korean.
    signature: Mapped[str] = mapped_column(Text, default="", server_default="")
    signature_ko: Mapped[str] = mapped_column(Text, default="", server_default="")

    # Flask-Login reads these three; they live here so the model needs no Flask import.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What the session cookie names the user by: the id and the session version."""
        return f"{self.id}:{self.session_version}"


class PasswordResetRequest(Base):
    """One "forgot password" request, kept for rate-limiting by address and by client IP
    (also for addresses that have no account, so the limit tells nothing about them)."""

    __tablename__ = "password_reset_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class LoginAttempt(Base):
    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
