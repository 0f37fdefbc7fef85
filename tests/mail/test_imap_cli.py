"""`helpdesk poll` and the run supervisor starting the poller only when there is IMAP to poll."""

from __future__ import annotations

import os
import subprocess
import sys

from click.testing import CliRunner
from sqlalchemy import func, select

from helpdesk.cli import child_commands, main
from helpdesk.tickets.models import Ticket
from tests.factories import make_mailbox
from tests.mail.conftest import IMAP_PASSWORD_ENV
from tests.tickets.mails import mail


def poll_environment(config, imap_account) -> dict[str, str]:
    return {
        "DATABASE_URL": config.database_url,
        "REDIS_URL": config.redis_url,
        "SECRET_KEY": config.secret_key,
        "HELPDESK_INSTANCE": str(config.instance_path),
        IMAP_PASSWORD_ENV: imap_account.password,
    }


def test_poll_command_takes_in_mail_of_every_imap_mailbox(
    session, config, imap_mailbox, imap_account
):
    imap_account.append(mail())

    result = CliRunner().invoke(main, ["poll"], env=poll_environment(config, imap_account))

    assert result.exit_code == 0, result.output
    assert f"mailbox {imap_mailbox.id}: fetched 1, ingested 1" in result.output
    assert session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_poll_command_started_as_the_supervisor_starts_it_parses_in_processes(
    session, config, imap_mailbox, imap_account
):
    # `python -m helpdesk.cli`: the parse processes import the main module again, which
    # must not start a second poll.
    imap_account.append(mail(subject="One"), mail(subject="Two", message_id="<two@example.com>"))
    env = os.environ | poll_environment(config, imap_account)

    done = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", "poll"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert f"mailbox {imap_mailbox.id}: fetched 2, ingested 2" in done.stdout
    assert sorted(session.scalars(select(Ticket.subject))) == ["One", "Two"]


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
