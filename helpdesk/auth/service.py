"""Account rules: creating users, checking passwords, throttling repeated failures."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from functools import cache
from zoneinfo import available_timezones

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.auth import throttle
from helpdesk.auth.models import Role, User
from helpdesk.auth.throttle import ThrottlePolicy
from helpdesk.db import utcnow
from helpdesk.normalize import InvalidEmail, normalize_email
from helpdesk.text import LANGUAGES
from helpdesk.text import lazy_text as _l

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
MAX_SIGNATURE = 2000


class UserError(ValueError):
    """A user could not be created or changed; the message says why."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str,
    role: Role | str,
    is_manager: bool = False,
    language: str | None = None,
    timezone: str = "UTC",
) -> User:
    try:
        email = normalize_email(email)
    except InvalidEmail as exc:
        raise UserError(str(exc)) from None
    try:
        role = Role(role)
    except ValueError:
        raise UserError(f"unknown role {role!r}; choose admin, agent or marketer") from None
    if not name.strip():
        raise UserError("name is required")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise UserError(f"a user with email {email} already exists")
    user = User(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
        role=role,
        is_manager=is_manager,
        language=language,
        timezone=timezone,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(
    session: Session,
    email: str,
    password: str,
    ip: str,
    policy: ThrottlePolicy,
    *,
    sleep: Callable[[float], object] = time.sleep,
) -> User | None:
    """Return the user for a correct login, None for a wrong one; raise LoginThrottled when
    the address is locked. An IP with many recent failures waits first (see throttle);
    that commits what the session holds, so call it before changing anything."""
    email_key = email.strip().lower()
    throttle.refuse_if_address_locked(session, email_key, policy)
    delay = throttle.ip_delay(session, ip, policy)
    if delay:
        # Wait outside any transaction: on SQLite this request's BEGIN IMMEDIATE holds the
        # write lock, and on PostgreSQL a pooled connection, which others must not wait for.
        session.commit()
        sleep(delay.total_seconds())
    user = session.scalar(select(User).where(func.lower(User.email) == email_key))
    # Unknown and deactivated accounts cost one hash check too: a faster answer would
    # tell an attacker which addresses have a working account.
    matches = password_matches(user.password_hash if user else _dummy_hash(_hasher), password)
    if user is None or not user.is_active or not matches:
        throttle.record_attempt(session, email_key, ip, succeeded=False)
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    throttle.record_attempt(session, email_key, ip, succeeded=True)
    user.last_login_at = utcnow()
    return user


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash made with the same parameters as real ones, of a password no one knows."""
    return hasher.hash(secrets.token_urlsafe(32))


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def end_sessions(user: User) -> None:
    """Every login cookie issued to the user so far stops working (the caller commits)."""
    user.session_version += 1


def change_password(
    session: Session,
    user: User,
    *,
    current: str,
    new: str,
    ip: str,
    policy: ThrottlePolicy,
) -> User:
    """The user's own change: the current password is required, and a wrong one counts as
    a failed login (a borrowed session must not become a way to guess it). Ends every
    session; the caller logs the current one in again."""
    throttle.refuse_if_address_locked(session, user.email, policy)
    if not password_matches(user.password_hash, current):
        throttle.record_attempt(session, user.email, ip, succeeded=False)
        raise UserError(_l("The current password is wrong."))
    set_password(user, new)
    return user


def set_password(user: User, password: str) -> None:
    """Replace the password and end the user's sessions; refuses a too-short one."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            _l("The password must be at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
        )
    user.password_hash = hash_password(password)
    end_sessions(user)


def lock_password(user: User) -> None:
    """An admin's forced reset: the old password stops working (the new hash is of a random
    secret, so a login attempt still costs a hash check) and every session ends."""
    user.password_hash = hash_password(secrets.token_urlsafe(32))
    end_sessions(user)


def update_user(
    session: Session,
    user: User,
    *,
    name: str,
    role: Role | str,
    is_active: bool,
    is_manager: bool,
    password: str | None = None,
) -> User:
    try:
        role = Role(role)
    except ValueError:
        raise UserError(f"unknown role {role!r}") from None
    if not name.strip():
        raise UserError("name is required")
    if user.role == Role.admin and (role != Role.admin or not is_active):
        _refuse_removing_last_admin(session, user)
    if password:
        set_password(user, password)
    if role != user.role or (user.is_active and not is_active):
        # What the user may do changed: sessions opened under the old rights end.
        end_sessions(user)
    user.name = name.strip()
    user.role = role
    user.is_active = is_active
    user.is_manager = is_manager
    return user


def _refuse_removing_last_admin(session: Session, user: User) -> None:
    other_admins = session.scalar(
        select(func.count()).where(User.role == Role.admin, User.is_active, User.id != user.id)
    )
    if not other_admins:
        raise UserError("the last active admin cannot be demoted or deactivated")


def update_preferences(
    session: Session,
    user: User,
    *,
    language: str | None,
    timezone: str,
    signature: str | None = None,
    signature_ko: str | None = None,
):
    """`signature` (English) and `signature_ko` (Korean) None leave that signature as it
    is (marketers send no replies)."""
    if language not in (None, "", "en", "ko"):
        raise UserError(f"unsupported language {language!r}")
    if timezone not in available_timezones():
        raise UserError(f"unknown time zone {timezone!r}")
    for text in (signature, signature_ko):
        if text is not None and len(text.strip()) > MAX_SIGNATURE:
            raise UserError(f"a signature has at most {MAX_SIGNATURE} characters")
    user.language = language or None
    user.timezone = timezone
    if signature is not None:
        user.signature = signature.strip()
    if signature_ko is not None:
        user.signature_ko = signature_ko.strip()
    return user


def set_language(session: Session, user: User, language: str) -> User:
    """The interface language a user picked in the header; the time zone stays."""
    if language not in LANGUAGES:
        raise UserError(f"unsupported language {language!r}")
    user.language = language
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.role, User.name)))


def active_agents(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.is_active, User.role.in_([Role.agent, Role.admin]))
            .order_by(User.name)
        )
    )
