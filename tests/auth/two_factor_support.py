"""Helpers for two-factor tests: turning it on for a user and reading real TOTP codes."""

from __future__ import annotations

import time

import pyotp

from helpdesk.auth import two_factor

SECRET_KEY = "test-secret-key"  # the test config's, which the app derives its cipher from


def cipher() -> two_factor.SecretCipher:
    return two_factor.SecretCipher(SECRET_KEY)


def code(secret: str, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now, or `steps_ahead` 30-second steps later."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def turn_on(session, user) -> tuple[str, list[str]]:
    """Turns two-factor login on for `user` (using this step's code); returns the secret
    and the recovery codes. Codes for logins in the test are `code(secret, 1)` onwards."""
    enrolment = two_factor.start_enrolment(session, user.id, user.email, "helpdesk.test", cipher())
    codes = two_factor.confirm_enrolment(
        session, user.id, code(enrolment.secret), cipher(), two_factor.CodePolicy()
    )
    session.commit()
    return enrolment.secret, codes
