"""`helpdesk poll` and the run supervisor starting the poller only when there is IMAP to poll."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select

from helpdesk.cli import child_commands, main
from helpdesk.tickets.models import Ticket
from tests.factories import make_mailbox
from tests.mail.conftest import IMAP_PASSWORD_ENV
from tests.tickets.mails import mail


def test_poll_command_takes_in_mail_of_every_imap_mailbox(
    session, config, imap_mailbox, imap_account
):
    imap_account.append(mail())
    env = {
        "DATABASE_URL": config.database_url,
        "REDIS_URL": config.redis_url,
        "SECRET_KEY": config.secret_key,
        "HELPDESK_INSTANCE": str(config.instance_path),
        IMAP_PASSWORD_ENV: imap_account.password,
    }

    result = CliRunner().invoke(main, ["poll"], env=env)

    assert result.exit_code == 0, result.output
    assert f"mailbox {imap_mailbox.id}: fetched 1, ingested 1" in result.output
    assert session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_run_starts_the_poller_only_with_an_active_imap_mailbox(session, config):
    make_mailbox(session, address="gateway-only@helpdesk.test")
    assert "poller" not in [c.name for c in child_commands(config)]

    make_mailbox(
        session,
        address="imap@helpdesk.test",
        imap_host="imap.example.com",
        imap_user="support",
        password_ref="env:X",
    )
    poller = next(c for c in child_commands(config) if c.name == "poller")

    assert poller.argv[-2:] == ["poll", "--watch"]
