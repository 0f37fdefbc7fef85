"""Finding 7: login throttling is strict per address and never locks a whole office out.

Per address: failures since its last success lock it for the window. Per client IP:
failures over a sliding window, which a success does not reset; an IP over its limit
still logs a correct password in (for an address that is not locked itself), after a
delay that doubles with each further failure, up to a cap.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk.auth import service
from helpdesk.auth.models import LoginAttempt
from helpdesk.auth.throttle import LoginThrottled, ThrottlePolicy
from helpdesk.db import utcnow
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.helpers import post_form

OFFICE = "198.51.100.7"
POLICY = ThrottlePolicy(
    max_failures=5,
    window=timedelta(minutes=15),
    ip_max_failures=3,
    ip_delay=timedelta(seconds=1),
    ip_max_delay=timedelta(seconds=5),
)


class Sleeps(list):
    """Stands in for time.sleep and remembers how long each attempt was made to wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def attempt(session, email, password="wrong password!", ip=OFFICE, policy=POLICY):
    sleeps = Sleeps()
    user = service.authenticate(session, email, password, ip, policy, sleep=sleeps)
    session.commit()
    return user, sleeps


def fail_from(session, ip: str, times: int, email_prefix: str = "sprayed") -> None:
    """Failed logins from `ip`, each for another address (a password spray)."""
    for n in range(times):
        session.add(LoginAttempt(email=f"{email_prefix}{n}@example.com", ip=ip, succeeded=False))
    session.commit()


def test_an_address_is_locked_after_its_failures_from_any_ip(session):
    make_user(session, email="target@example.com")
    for n in range(POLICY.max_failures):
        attempt(session, "target@example.com", ip=f"203.0.113.{n}")

    with pytest.raises(LoginThrottled):
        attempt(session, "target@example.com", DEFAULT_PASSWORD, ip="192.0.2.99")


def test_an_ip_under_its_limit_does_not_wait(session):
    make_user(session, email="ok@example.com")
    fail_from(session, OFFICE, POLICY.ip_max_failures - 1)

    user, sleeps = attempt(session, "ok@example.com", DEFAULT_PASSWORD)

    assert user is not None and sleeps == []


def test_an_ip_over_its_limit_still_logs_in_another_accounts_correct_password(session):
    make_user(session, email="colleague@example.com")
    fail_from(session, OFFICE, 10)

    user, sleeps = attempt(session, "colleague@example.com", DEFAULT_PASSWORD)

    assert user is not None and user.email == "colleague@example.com"
    assert sleeps == [POLICY.ip_max_delay.total_seconds()]


def test_an_ip_over_its_limit_waits_twice_as_long_with_each_further_failure(session):
    fail_from(session, OFFICE, POLICY.ip_max_failures)
    waits = [attempt(session, f"guess{n}@example.com")[1] for n in range(5)]

    assert waits == [[1.0], [2.0], [4.0], [5.0], [5.0]]


def test_the_ip_delay_is_capped_however_many_failures(session):
    fail_from(session, OFFICE, 5000)

    _user, sleeps = attempt(session, "guess@example.com")

    assert sleeps == [POLICY.ip_max_delay.total_seconds()]


def test_a_success_does_not_reset_the_ips_failure_count(session):
    make_user(session, email="sprayer@example.com")
    fail_from(session, OFFICE, POLICY.ip_max_failures)
    assert attempt(session, "sprayer@example.com", DEFAULT_PASSWORD)[0] is not None

    _user, sleeps = attempt(session, "next-victim@example.com")

    assert sleeps == [POLICY.ip_delay.total_seconds()]  # the failures before it still count


def test_a_success_resets_the_addresss_own_count(session):
    make_user(session, email="typo@example.com")
    for _ in range(POLICY.max_failures - 1):
        attempt(session, "typo@example.com", ip="192.0.2.10")
    assert attempt(session, "typo@example.com", DEFAULT_PASSWORD, ip="192.0.2.10")[0]

    for _ in range(POLICY.max_failures - 1):
        attempt(session, "typo@example.com", ip="192.0.2.10")

    assert attempt(session, "typo@example.com", DEFAULT_PASSWORD, ip="192.0.2.10")[0]


def test_ip_failures_older_than_the_window_do_not_count(session):
    old = utcnow() - POLICY.window - timedelta(minutes=1)
    for n in range(50):
        session.add(LoginAttempt(email=f"old{n}@example.com", ip=OFFICE, succeeded=False, at=old))
    session.commit()

    _user, sleeps = attempt(session, "fresh@example.com")

    assert sleeps == []


def test_other_ips_are_not_slowed_by_one_ips_failures(session):
    fail_from(session, OFFICE, 100)

    _user, sleeps = attempt(session, "guess@example.com", ip="192.0.2.200")

    assert sleeps == []


@pytest.fixture
def config(config):
    """The login page with a small per-IP limit and millisecond delays."""
    return config.with_overrides(
        login_ip_max_failures=3, login_ip_delay_ms=1, login_ip_max_delay_ms=4
    )


def test_behind_one_nat_a_sprayer_does_not_lock_out_the_office(client, app, session):
    """Through the login page: many failures from the office's one address, and the next
    colleague still gets in."""
    make_user(session, email="colleague@example.com")
    for n in range(10):
        response = post_form(
            client, "/login", {"email": f"victim{n}@example.com", "password": "guess guess"}
        )
        assert response.status_code == 401

    colleague = app.test_client()
    response = post_form(
        colleague, "/login", {"email": "colleague@example.com", "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 302


def test_the_wait_holds_no_database_lock(session, app, database_url):
    """The app's own request session (BEGIN IMMEDIATE on SQLite) must let other writers
    through while an attempt waits out its delay."""
    from sqlalchemy import create_engine, insert

    from helpdesk.db import database

    fail_from(session, OFFICE, POLICY.ip_max_failures)
    other_writer = create_engine(
        database_url, connect_args={"timeout": 1} if database_url.startswith("sqlite") else {}
    )
    written = []

    def sleep(_seconds):
        with other_writer.begin() as conn:
            conn.execute(
                insert(LoginAttempt).values(
                    email="x@example.com", ip="192.0.2.5", succeeded=False, at=utcnow()
                )
            )
        written.append(True)

    request_session = database.session()
    try:
        service.authenticate(
            request_session, "guess@example.com", "guess", OFFICE, POLICY, sleep=sleep
        )
        request_session.commit()
    finally:
        request_session.close()
        other_writer.dispose()
    assert written == [True]
