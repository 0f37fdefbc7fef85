"""Login throttling: strict per address, a growing delay per client IP.

Per address: after `max_failures` failed logins since that address's last success (within
`window`), its logins are refused until the window has passed: guessing one account's
password gets nowhere. Per client IP: failures are counted over a sliding `window` that a
success does not reset, so an account holder cannot spray other accounts between their
own logins. An IP over `ip_max_failures` is not refused outright (one person must not lock
out a whole office behind one NAT); each of its attempts waits first, twice as long for
each further failure, up to `ip_max_delay`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.auth.models import LoginAttempt
from helpdesk.db import utcnow


class LoginThrottled(Exception):
    def __init__(self, retry_after: timedelta):
        super().__init__(f"too many failed logins; try again in {retry_after}")
        self.retry_after = retry_after


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    ip_max_failures: int = 20
    ip_delay: timedelta = timedelta(milliseconds=500)
    ip_max_delay: timedelta = timedelta(seconds=5)


def refuse_if_address_locked(session: Session, email: str, policy: ThrottlePolicy) -> None:
    """Raise LoginThrottled when the address has too many failures since its last success."""
    start = utcnow() - policy.window
    last_success = session.scalar(
        select(func.max(LoginAttempt.at)).where(LoginAttempt.email == email, LoginAttempt.succeeded)
    )
    if last_success is not None and last_success > start:
        start = last_success
    count, first = session.execute(
        select(func.count(), func.min(LoginAttempt.at)).where(
            LoginAttempt.email == email, LoginAttempt.succeeded.is_(False), LoginAttempt.at > start
        )
    ).one()
    if count >= policy.max_failures:
        raise LoginThrottled(retry_after=first + policy.window - utcnow())


def ip_failures(session: Session, ip: str, policy: ThrottlePolicy) -> int:
    """Failed logins from this IP within the sliding window, successes notwithstanding."""
    return session.scalar(
        select(func.count()).where(
            LoginAttempt.ip == ip,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.at > utcnow() - policy.window,
        )
    )


def ip_delay(session: Session, ip: str, policy: ThrottlePolicy) -> timedelta:
    """How long an attempt from this IP waits before its password is checked."""
    excess = ip_failures(session, ip, policy) - policy.ip_max_failures
    if excess < 0:
        return timedelta(0)
    # 2**excess overflows timedelta long before the cap matters; stop doubling at the cap.
    delay = policy.ip_delay
    for _ in range(excess):
        if delay >= policy.ip_max_delay:
            break
        delay *= 2
    return min(delay, policy.ip_max_delay)


def record_attempt(session: Session, email: str, ip: str, *, succeeded: bool) -> None:
    session.add(LoginAttempt(email=email, ip=ip, succeeded=succeeded))
