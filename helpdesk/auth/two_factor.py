"""Two-factor login: time-based one-time codes (RFC 6238) from an authenticator app, and
single-use recovery codes for when the app is lost.

A user turns it on in two steps: `start_enrolment` gives a secret (shown as a QR code and
as text), `confirm_enrolment` switches it on once a code from the app matches. At login,
`verify_code` accepts a current code or an unused recovery code. Every check reserves one
attempt first, in one conditional UPDATE, so parallel guesses cannot exceed the limit; a
code is accepted once only (its time step is recorded, also in one conditional UPDATE).

Secrets are stored encrypted (Fernet, with a key derived from SECRET_KEY): a copy of the
database alone does not give anyone the codes. Changing SECRET_KEY makes the stored
secrets unreadable; those users then need an admin to reset their two-factor login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from helpdesk.auth.two_factor_models import RecoveryCode, TwoFactorSecret, TwoFactorSettings
from helpdesk.db import utcnow
from helpdesk.text import LazyText
from helpdesk.text import lazy_text as _l

RECOVERY_CODE_COUNT = 10
# One step of clock drift either way between the server and the phone.
VALID_WINDOW = 1
_TOTP_CODE = re.compile(r"[0-9]{6}")  # not \d: it matches other scripts' digits too
# 16 base32 characters: 80 random bits, so a fast hash (SHA-256) is enough to store them.
_RECOVERY_CODE = re.compile(r"[a-z2-7]{16}")


class TwoFactorError(Exception):
    """A refused two-factor step; `message` is a lazy text for the page."""

    def __init__(self, message: LazyText):
        super().__init__(str(message))
        self.message = message


class CodeMalformed(TwoFactorError):
    """Not a 6-digit code nor a recovery code: a typo, not a guess, so not counted."""


class CodeRejected(TwoFactorError):
    pass


class CodeThrottled(TwoFactorError):
    def __init__(self, retry_after: timedelta):
        minutes = max(1, int(retry_after.total_seconds() // 60) + 1)
        super().__init__(
            _l("Too many wrong codes. Try again in %(minutes)d minutes.", minutes=minutes)
        )
        self.retry_after = retry_after


class NotEnrolled(TwoFactorError):
    pass


class AlreadyOn(TwoFactorError):
    pass


@dataclass(frozen=True)
class CodePolicy:
    """How many codes one user may try (logins, turning it off, new recovery codes)."""

    max_attempts: int = 5
    window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Enrolment:
    secret: str
    provisioning_uri: str


@dataclass(frozen=True)
class Status:
    enabled: bool
    recovery_codes_left: int


class SecretCipher:
    """Encrypts authenticator secrets at rest with a key derived from the app's secret key."""

    def __init__(self, secret_key: str):
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=b"helpdesk two-factor secrets",
        ).derive(secret_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, token: str) -> str | None:
        """None when the token was made with another key (SECRET_KEY changed)."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            return None


def _secret_row(session: Session, user_id: int) -> TwoFactorSecret | None:
    return session.get(TwoFactorSecret, user_id)


def is_enabled(session: Session, user_id: int) -> bool:
    return (
        session.scalar(
            select(TwoFactorSecret.user_id).where(
                TwoFactorSecret.user_id == user_id, TwoFactorSecret.confirmed_at.is_not(None)
            )
        )
        is not None
    )


def status(session: Session, user_id: int) -> Status:
    left = session.scalar(
        select(func.count()).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )
    return Status(enabled=is_enabled(session, user_id), recovery_codes_left=left or 0)


def enabled_user_ids(session: Session) -> set[int]:
    return set(
        session.scalars(
            select(TwoFactorSecret.user_id).where(TwoFactorSecret.confirmed_at.is_not(None))
        )
    )


def is_enforced(session: Session) -> bool:
    return bool(session.scalar(select(TwoFactorSettings.enforced).where(TwoFactorSettings.id == 1)))


def set_enforced(session: Session, enforced: bool) -> None:
    settings = session.get(TwoFactorSettings, 1)
    if settings is None:
        session.add(TwoFactorSettings(id=1, enforced=enforced))
    else:
        settings.enforced = enforced


def enrolment_required(session: Session, user_id: int) -> bool:
    """True when every staff member must use two-factor login and this one does not yet."""
    return is_enforced(session) and not is_enabled(session, user_id)


def start_enrolment(
    session: Session, user_id: int, email: str, issuer: str, cipher: SecretCipher
) -> Enrolment:
    """A secret to scan; reloading the page shows the same one until it is confirmed."""
    row = _secret_row(session, user_id)
    if row is not None and row.confirmed_at is not None:
        raise AlreadyOn(_l("Two-factor login is already on."))
    secret = cipher.decrypt(row.secret_encrypted) if row is not None else None
    if secret is None:
        secret = pyotp.random_base32()
        if row is None:
            row = TwoFactorSecret(user_id=user_id, attempts=0)
            session.add(row)
        row.secret_encrypted = cipher.encrypt(secret)
        row.created_at = utcnow()
        session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)
    return Enrolment(secret=secret, provisioning_uri=uri)


def confirm_enrolment(
    session: Session,
    user_id: int,
    code: str,
    cipher: SecretCipher,
    policy: CodePolicy,
    now: datetime | None = None,
) -> list[str]:
    """Switches two-factor login on when `code` matches; returns the new recovery codes."""
    now = now or utcnow()
    row = _secret_row(session, user_id)
    if row is None or row.confirmed_at is not None:
        raise NotEnrolled(_l("Start the set-up again."))
    kind, value = _parse_code(code)
    if kind != "totp":
        raise CodeMalformed(_l("Enter the 6-digit code that your app shows."))
    _reserve_attempt(session, user_id, policy, now)
    _accept_totp(session, row, value, cipher, now)
    row.confirmed_at = now
    _reset_attempts(session, user_id)
    return _new_recovery_codes(session, user_id)


def verify_code(
    session: Session,
    user_id: int,
    code: str,
    cipher: SecretCipher,
    policy: CodePolicy,
    now: datetime | None = None,
) -> str:
    """Accepts a current authenticator code or an unused recovery code (which is then used
    up); returns "totp" or "recovery". Raises CodeMalformed, CodeThrottled or CodeRejected."""
    now = now or utcnow()
    row = _secret_row(session, user_id)
    if row is None or row.confirmed_at is None:
        raise NotEnrolled(_l("Two-factor login is not on for this account."))
    kind, value = _parse_code(code)
    _reserve_attempt(session, user_id, policy, now)
    if kind == "totp":
        _accept_totp(session, row, value, cipher, now)
    else:
        _use_recovery_code(session, user_id, value, now)
    _reset_attempts(session, user_id)
    return kind


def count_failed_attempt(
    session: Session, user_id: int, policy: CodePolicy, now: datetime | None = None
) -> None:
    """Counts a failure that was not a code (a wrong password where both are asked)."""
    _reserve_attempt(session, user_id, policy, now or utcnow())


def regenerate_recovery_codes(session: Session, user_id: int) -> list[str]:
    """New codes; the old ones stop working. The caller checks a code first."""
    if not is_enabled(session, user_id):
        raise NotEnrolled(_l("Two-factor login is not on for this account."))
    return _new_recovery_codes(session, user_id)


def turn_off(session: Session, user_id: int) -> None:
    """Removes the secret and the recovery codes: the caller has checked the user's password
    and code, or is an admin resetting a user who lost both."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    session.execute(delete(TwoFactorSecret).where(TwoFactorSecret.user_id == user_id))


def _parse_code(code: str) -> tuple[str, str]:
    text = re.sub(r"[\s-]", "", code or "").lower()
    if _TOTP_CODE.fullmatch(text):
        return "totp", text
    if _RECOVERY_CODE.fullmatch(text):
        return "recovery", text
    raise CodeMalformed(_l("Enter the 6-digit code from your app, or one of your recovery codes."))


def _reserve_attempt(session: Session, user_id: int, policy: CodePolicy, now: datetime) -> None:
    """Takes one attempt of the window, or raises CodeThrottled when none is left."""
    window_over = or_(
        TwoFactorSecret.attempts_since.is_(None),
        TwoFactorSecret.attempts_since <= now - policy.window,
    )
    reserved = session.execute(
        update(TwoFactorSecret)
        .where(
            TwoFactorSecret.user_id == user_id,
            or_(window_over, TwoFactorSecret.attempts < policy.max_attempts),
        )
        .values(
            attempts=case((window_over, 1), else_=TwoFactorSecret.attempts + 1),
            attempts_since=case((window_over, now), else_=TwoFactorSecret.attempts_since),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not reserved:
        since = session.scalar(
            select(TwoFactorSecret.attempts_since).where(TwoFactorSecret.user_id == user_id)
        )
        raise CodeThrottled(retry_after=since + policy.window - now)


def _reset_attempts(session: Session, user_id: int) -> None:
    session.execute(
        update(TwoFactorSecret)
        .where(TwoFactorSecret.user_id == user_id)
        .values(attempts=0, attempts_since=None)
        .execution_options(synchronize_session=False)
    )


def _accept_totp(
    session: Session, row: TwoFactorSecret, code: str, cipher: SecretCipher, now: datetime
) -> None:
    secret = cipher.decrypt(row.secret_encrypted)
    if secret is None:
        raise CodeRejected(_l("This account's two-factor secret cannot be read; ask an admin."))
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    matched = [
        step
        for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1)
        if hmac.compare_digest(totp.generate_otp(step), code)
    ]
    if not matched:
        raise CodeRejected(_l("That code is not right. Check the time on your phone."))
    step = matched[-1]
    # Only the request that moves the step forward gets in: a code seen on the wire (or
    # sent twice at once) cannot be used again within its 30 seconds.
    claimed = session.execute(
        update(TwoFactorSecret)
        .where(
            TwoFactorSecret.user_id == row.user_id,
            or_(TwoFactorSecret.last_used_step.is_(None), TwoFactorSecret.last_used_step < step),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        raise CodeRejected(_l("This code was used already. Wait for the next one."))


def _use_recovery_code(session: Session, user_id: int, code: str, now: datetime) -> None:
    used = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == _hash_recovery_code(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not used:
        raise CodeRejected(_l("That recovery code is not right or was used already."))


def _hash_recovery_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _new_recovery_codes(session: Session, user_id: int) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = [
        base64.b32encode(secrets.token_bytes(10)).decode().lower()
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    session.add_all(RecoveryCode(user_id=user_id, code_hash=_hash_recovery_code(c)) for c in codes)
    session.flush()
    return [format_recovery_code(c) for c in codes]


def format_recovery_code(code: str) -> str:
    """abcd-efgh-ijkl-mnop: easier to copy by hand; the dashes are ignored when typed."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))
