"""Password reset by email: who may ask how often, and the signed single-use link.

The link carries the user's id and a fingerprint of their password hash and session
version, signed with the secret key and stamped with its time. Setting a password (by
this link or any other way) changes both, so a link works once and only until the next
change; it also expires after `max_age`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.auth import service, throttle
from helpdesk.auth.models import PasswordResetRequest, User
from helpdesk.db import utcnow
from helpdesk.text import lazy_text as _l

SALT = "password-reset"


class ResetRefused(ValueError):
    """The link is expired, used, tampered with or names no active user."""


class ResetRequestsThrottled(Exception):
    """Too many reset requests for this address or from this IP."""


@dataclass(frozen=True)
class ResetRequestPolicy:
    per_address: int = 3
    per_ip: int = 10
    window: timedelta = timedelta(hours=1)


def request_reset(
    session: Session, email: str, ip: str, policy: ResetRequestPolicy = ResetRequestPolicy()
) -> str:
    """Record the request; returns the address to queue the mail job for (the job finds
    the account, if any). Requests for unknown addresses count the same, so neither the
    answer nor the limit says whether an account exists. Raises ResetRequestsThrottled
    over either limit."""
    email_key = email.strip().lower()
    since = utcnow() - policy.window
    for column, value, limit in (
        (PasswordResetRequest.email, email_key, policy.per_address),
        (PasswordResetRequest.ip, ip, policy.per_ip),
    ):
        count = session.scalar(
            select(func.count()).where(column == value, PasswordResetRequest.at > since)
        )
        if count >= limit:
            raise ResetRequestsThrottled()
    session.add(PasswordResetRequest(email=email_key, ip=ip))
    return email_key


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def _fingerprint(user: User) -> str:
    material = f"{user.password_hash}\x00{user.session_version}".encode()
    return hashlib.sha256(material).hexdigest()[:32]


def make_token(user: User, secret_key: str) -> str:
    return _serializer(secret_key).dumps({"user": user.id, "state": _fingerprint(user)})


def user_for_token(session: Session, token: str, secret_key: str, max_age: timedelta) -> User:
    """The active user a valid, unused, unexpired link belongs to; raises ResetRefused."""
    try:
        payload = _serializer(secret_key).loads(token, max_age=max_age.total_seconds())
    except SignatureExpired:
        raise ResetRefused(_l("This reset link has expired. Ask for a new one.")) from None
    except BadSignature:
        raise ResetRefused(_l("This reset link is not valid. Ask for a new one.")) from None
    user_id = payload.get("user") if isinstance(payload, dict) else None
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active or payload.get("state") != _fingerprint(user):
        # Already used (the password or session version moved on) or the account is gone.
        raise ResetRefused(_l("This reset link has already been used. Ask for a new one."))
    return user


def reset_password(
    session: Session, token: str, new_password: str, *, secret_key: str, max_age: timedelta, ip: str
) -> User:
    """Set the new password from a link; every session of the user ends. Proving the
    mailbox is as good as a login: the address's failed-login count starts afresh."""
    user = user_for_token(session, token, secret_key, max_age)
    service.set_password(user, new_password)
    throttle.record_attempt(session, user.email, ip, succeeded=True)
    return user
