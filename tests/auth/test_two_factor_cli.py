"""`helpdesk reset-two-factor`: the way back in when the only admin lost their phone."""

from click.testing import CliRunner

from helpdesk.auth import two_factor
from helpdesk.cli import main
from tests.auth.two_factor_support import turn_on


def invoke(database_url, tmp_path, *args):
    env = {
        "DATABASE_URL": database_url,
        "HELPDESK_INSTANCE": str(tmp_path / "instance"),
        "SECRET_KEY": "cli-test-secret",
    }
    return CliRunner().invoke(main, ["reset-two-factor", *args], env=env)


def test_reset_two_factor_turns_it_off_for_that_user(
    app, session, admin, agent, database_url, tmp_path
):
    turn_on(session, admin)
    turn_on(session, agent)
    result = invoke(database_url, tmp_path, "--email", "ADMIN@example.com")
    assert result.exit_code == 0, result.output
    session.rollback()
    assert not two_factor.is_enabled(session, admin.id)
    assert two_factor.is_enabled(session, agent.id)


def test_reset_two_factor_of_an_unknown_address_fails_and_changes_nothing(
    app, session, admin, database_url, tmp_path
):
    turn_on(session, admin)
    result = invoke(database_url, tmp_path, "--email", "nobody@example.com")
    assert result.exit_code == 2
    assert "no user has the email address" in result.output
    session.rollback()
    assert two_factor.is_enabled(session, admin.id)
