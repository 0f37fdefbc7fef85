"""The rules of two-factor codes, on the service: enrolment, clock drift, replay, recovery
codes, the attempt limit, and secrets stored encrypted."""

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from helpdesk.auth import two_factor
from helpdesk.auth.two_factor_models import RecoveryCode, TwoFactorSecret
from tests.auth.two_factor_support import cipher

NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
POLICY = two_factor.CodePolicy(max_attempts=5, window=timedelta(minutes=15))


def code_at(secret: str, when: datetime) -> str:
    return pyotp.TOTP(secret).at(when)


def enrol(session, user, when=NOW) -> tuple[str, list[str]]:
    enrolment = two_factor.start_enrolment(session, user.id, user.email, "helpdesk.test", cipher())
    codes = two_factor.confirm_enrolment(
        session, user.id, code_at(enrolment.secret, when), cipher(), POLICY, now=when
    )
    session.commit()
    return enrolment.secret, codes


def verify(session, user, code: str, when: datetime) -> str:
    try:
        return two_factor.verify_code(session, user.id, code, cipher(), POLICY, now=when)
    finally:
        session.commit()


def test_two_factor_is_off_until_a_code_confirms_the_enrolment(session, agent):
    enrolment = two_factor.start_enrolment(
        session, agent.id, agent.email, "helpdesk.test", cipher()
    )
    session.commit()
    assert not two_factor.is_enabled(session, agent.id)
    assert enrolment.provisioning_uri.startswith("otpauth://totp/helpdesk.test:agent%40example.com")
    two_factor.confirm_enrolment(
        session, agent.id, code_at(enrolment.secret, NOW), cipher(), POLICY, now=NOW
    )
    session.commit()
    assert two_factor.is_enabled(session, agent.id)


def test_reloading_the_set_up_shows_the_same_secret(session, agent):
    first = two_factor.start_enrolment(session, agent.id, agent.email, "h", cipher())
    again = two_factor.start_enrolment(session, agent.id, agent.email, "h", cipher())
    assert first.secret == again.secret


def test_a_wrong_code_does_not_switch_two_factor_on(session, agent):
    enrolment = two_factor.start_enrolment(session, agent.id, agent.email, "h", cipher())
    wrong = code_at(enrolment.secret, NOW + timedelta(minutes=5))
    with pytest.raises(two_factor.CodeRejected):
        two_factor.confirm_enrolment(session, agent.id, wrong, cipher(), POLICY, now=NOW)
    assert not two_factor.is_enabled(session, agent.id)


def test_enrolment_gives_ten_distinct_recovery_codes_stored_only_as_hashes(session, agent):
    _secret, codes = enrol(session, agent)
    assert len(set(codes)) == 10
    stored = set(session.scalars(select(RecoveryCode.code_hash)))
    assert len(stored) == 10
    assert not stored & {c.replace("-", "") for c in codes}


def test_the_secret_is_stored_encrypted(session, agent):
    secret, _codes = enrol(session, agent)
    row = session.get(TwoFactorSecret, agent.id)
    assert secret not in row.secret_encrypted
    assert cipher().decrypt(row.secret_encrypted) == secret


def test_a_secret_encrypted_under_another_key_is_not_readable(session, agent):
    enrol(session, agent)
    row = session.get(TwoFactorSecret, agent.id)
    assert two_factor.SecretCipher("another-secret-key").decrypt(row.secret_encrypted) is None


@pytest.mark.parametrize("drift", [-30, 30])
def test_a_code_one_step_off_is_accepted_for_clock_drift(session, agent, drift):
    secret, _codes = enrol(session, agent, when=NOW - timedelta(minutes=10))
    assert verify(session, agent, code_at(secret, NOW + timedelta(seconds=drift)), NOW) == "totp"


@pytest.mark.parametrize("drift", [-90, 90])
def test_a_code_further_off_is_refused(session, agent, drift):
    secret, _codes = enrol(session, agent, when=NOW - timedelta(minutes=10))
    with pytest.raises(two_factor.CodeRejected):
        verify(session, agent, code_at(secret, NOW + timedelta(seconds=drift)), NOW)


def test_a_code_is_accepted_once_only(session, agent):
    secret, _codes = enrol(session, agent, when=NOW - timedelta(minutes=10))
    verify(session, agent, code_at(secret, NOW), NOW)
    with pytest.raises(two_factor.CodeRejected, match="used already"):
        verify(session, agent, code_at(secret, NOW), NOW + timedelta(seconds=5))


def test_the_code_that_confirmed_the_enrolment_cannot_log_in(session, agent):
    secret, _codes = enrol(session, agent)
    with pytest.raises(two_factor.CodeRejected, match="used already"):
        verify(session, agent, code_at(secret, NOW), NOW)


def test_an_older_code_after_a_newer_one_is_refused(session, agent):
    secret, _codes = enrol(session, agent, when=NOW - timedelta(minutes=10))
    verify(session, agent, code_at(secret, NOW + timedelta(seconds=30)), NOW)
    with pytest.raises(two_factor.CodeRejected):
        verify(session, agent, code_at(secret, NOW), NOW)


def test_a_recovery_code_works_once(session, agent):
    _secret, codes = enrol(session, agent)
    assert verify(session, agent, codes[3].upper().replace("-", " "), NOW) == "recovery"
    with pytest.raises(two_factor.CodeRejected, match="used already"):
        verify(session, agent, codes[3], NOW)
    assert two_factor.status(session, agent.id).recovery_codes_left == 9


def test_new_recovery_codes_replace_the_old_ones(session, agent):
    _secret, old = enrol(session, agent)
    new = two_factor.regenerate_recovery_codes(session, agent.id)
    session.commit()
    with pytest.raises(two_factor.CodeRejected):
        verify(session, agent, old[0], NOW)
    assert verify(session, agent, new[0], NOW) == "recovery"


def test_another_users_recovery_code_is_refused(session, agent, marketer):
    enrol(session, agent)
    _secret, marketers_codes = enrol(session, marketer)
    with pytest.raises(two_factor.CodeRejected):
        verify(session, agent, marketers_codes[0], NOW)


@pytest.mark.parametrize(
    "malformed", ["", "12345", "1234567", "abcdef", "12345x", "١٢٣٤٥٦", "x" * 64]
)
def test_a_malformed_code_is_refused_without_counting_an_attempt(session, agent, malformed):
    enrol(session, agent, when=NOW - timedelta(minutes=10))
    with pytest.raises(two_factor.CodeMalformed):
        verify(session, agent, malformed, NOW)
    assert session.get(TwoFactorSecret, agent.id).attempts == 0


def test_after_five_wrong_codes_even_the_right_code_waits_for_the_window(session, agent):
    secret, _codes = enrol(session, agent, when=NOW - timedelta(minutes=10))
    wrong = code_at(secret, NOW + timedelta(minutes=3))
    for _ in range(5):
        with pytest.raises(two_factor.CodeRejected):
            verify(session, agent, wrong, NOW)
    with pytest.raises(two_factor.CodeThrottled) as refused:
        verify(session, agent, code_at(secret, NOW), NOW + timedelta(seconds=1))
    assert refused.value.retry_after > timedelta(minutes=14)
    later = NOW + timedelta(minutes=15, seconds=1)
    assert verify(session, agent, code_at(secret, later), later) == "totp"


def test_a_right_code_clears_the_count_of_wrong_ones(session, agent):
    secret, _codes = enrol(session, agent, when=NOW - timedelta(minutes=10))
    wrong = code_at(secret, NOW + timedelta(minutes=3))
    for _ in range(4):
        with pytest.raises(two_factor.CodeRejected):
            verify(session, agent, wrong, NOW)
    verify(session, agent, code_at(secret, NOW), NOW)
    for _ in range(4):
        with pytest.raises(two_factor.CodeRejected):
            verify(session, agent, wrong, NOW + timedelta(seconds=40))
    later = NOW + timedelta(seconds=60)
    assert verify(session, agent, code_at(secret, later), later) == "totp"


def test_turning_off_removes_the_secret_and_the_recovery_codes(session, agent):
    enrol(session, agent)
    two_factor.turn_off(session, agent.id)
    session.commit()
    assert not two_factor.is_enabled(session, agent.id)
    assert session.scalars(select(RecoveryCode)).all() == []


def test_enrolment_is_required_only_when_enforced_and_not_yet_on(session, agent):
    assert not two_factor.enrolment_required(session, agent.id)
    two_factor.set_enforced(session, True)
    session.commit()
    assert two_factor.enrolment_required(session, agent.id)
    enrol(session, agent)
    assert not two_factor.enrolment_required(session, agent.id)
