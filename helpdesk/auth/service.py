"""Account rules: creating users, checking passwords, throttling repeated failures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import available_timezones

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.auth.models import LoginAttempt, Role, User
from helpdesk.db import utcnow
from helpdesk.normalize import InvalidEmail, normalize_email

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


class UserError(ValueError):
    """A user could not be created or changed; the message says why."""


class LoginThrottled(Exception):
    def __init__(self, retry_after: timedelta):
        super().__init__(f"too many failed logins; try again in {retry_after}")
        self.retry_after = retry_after


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)


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
    session: Session, email: str, password: str, ip: str, policy: ThrottlePolicy
) -> User | None:
    """Return the user for a correct login, None for a wrong one; raise when throttled.

    Failures are counted per address and per client IP, so neither guessing one
    account's password nor spraying many accounts from one IP gets far.
    """
    email_key = email.strip().lower()
    _refuse_if_throttled(session, email_key, ip, policy)
    user = session.scalar(select(User).where(func.lower(User.email) == email_key))
    if user is None or not user.is_active or not _password_matches(user, password):
        session.add(LoginAttempt(email=email_key, ip=ip, succeeded=False))
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.add(LoginAttempt(email=email_key, ip=ip, succeeded=True))
    user.last_login_at = utcnow()
    return user


def _password_matches(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _refuse_if_throttled(session: Session, email: str, ip: str, policy: ThrottlePolicy) -> None:
    since = utcnow() - policy.window
    for column, value in ((LoginAttempt.email, email), (LoginAttempt.ip, ip)):
        last_success = session.scalar(
            select(func.max(LoginAttempt.at)).where(column == value, LoginAttempt.succeeded)
        )
        start = max(since, last_success) if last_success else since
        failures = session.execute(
            select(func.count(), func.min(LoginAttempt.at)).where(
                column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.at > start
            )
        ).one()
        if failures[0] >= policy.max_failures:
            raise LoginThrottled(retry_after=failures[1] + policy.window - utcnow())


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
        if len(password) < MIN_PASSWORD_LENGTH:
            raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
        user.password_hash = hash_password(password)
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


def update_preferences(session: Session, user: User, *, language: str | None, timezone: str):
    if language not in (None, "", "en", "ko"):
        raise UserError(f"unsupported language {language!r}")
    if timezone not in available_timezones():
        raise UserError(f"unknown time zone {timezone!r}")
    user.language = language or None
    user.timezone = timezone
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


def password_matches(user: User, password: str) -> bool:
    """For steps that ask a logged-in user for their password again."""
    return _password_matches(user, password)
