"""Finding 4: a login for an address without a working account costs the same password
check as one for a real account, so the answer's timing does not tell them apart."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, extract_parameters, profiles

from helpdesk.auth import service
from helpdesk.auth.throttle import ThrottlePolicy
from tests.factories import make_user


class CountingHasher(PasswordHasher):
    """The real hasher (the tests' cheap profile), counting its checks and their hashes."""

    def __init__(self, **parameters) -> None:
        super().__init__(**parameters)
        self.checked: list[str] = []

    def verify(self, hash, password) -> bool:
        self.checked.append(hash)
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch):
    counting = CountingHasher.from_parameters(profiles.CHEAPEST)
    monkeypatch.setattr(service, "_hasher", counting)
    return counting


def _log_in(session, email: str, password: str = "not the password"):
    return service.authenticate(session, email, password, "192.0.2.1", ThrottlePolicy())


def test_an_unknown_address_costs_one_password_check_like_a_known_one(session, hasher):
    make_user(session, email="known@example.com")

    assert _log_in(session, "known@example.com") is None
    assert _log_in(session, "nobody@example.com") is None

    assert len(hasher.checked) == 2


def test_the_unknown_address_is_checked_against_a_hash_of_the_same_cost(session, hasher):
    user = make_user(session, email="known@example.com")

    _log_in(session, "nobody@example.com")

    [dummy] = hasher.checked
    assert dummy != user.password_hash
    assert extract_parameters(dummy) == extract_parameters(user.password_hash)


def test_a_deactivated_account_costs_one_password_check_too(session, hasher):
    user = make_user(session, email="gone@example.com")
    user.is_active = False
    session.commit()

    assert _log_in(session, "gone@example.com", "correct horse battery") is None

    assert hasher.checked == [user.password_hash]
