"""`helpdesk run` started for real: web, worker, sink and embedded Redis, stopped by Ctrl-C."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.campaigns import jobs
from helpdesk.campaigns.models import Delivery, DeliveryState
from helpdesk.campaigns.sending import start_sending
from helpdesk.config import PROJECT_ROOT, Config
from helpdesk.db import make_engine, utcnow
from helpdesk.tickets.models import Ticket
from tests.conftest import REDIS_URL, free_port
from tests.factories import make_sending_campaign, make_subscribers
from tests.processes import alive, descendants, fresh_snapshot, horses, wait_until

START_TIMEOUT = 90
ADMIN_LOGIN_LINE = "Admin login (shown only this once)"


class Service:
    """One `helpdesk run` process with its own instance directory and ports."""

    def __init__(self, instance: Path, log: Path, settings: dict[str, str] | None = None):
        self.instance, self.log = instance, log
        self.port, self.sink_port, self.smtpd_port = free_port(), free_port(), free_port()
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "SECRET_KEY", "HOST")
        }
        env |= {
            "HELPDESK_INSTANCE": str(instance),
            "PORT": str(self.port),
            "SINK_PORT": str(self.sink_port),
            "SMTPD_PORT": str(self.smtpd_port),
            "PYTHONUNBUFFERED": "1",
        } | (settings or {})
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "helpdesk.cli", "run"],
                env=env,
                cwd=PROJECT_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"helpdesk run exited early:\n{self.output}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/login", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        pytest.fail(f"web UI did not answer within {START_TIMEOUT}s:\n{self.output}")

    def stop(self, signum: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


@pytest.fixture
def service(tmp_path):
    started: list[Service] = []

    def start(name: str = "run", settings: dict[str, str] | None = None) -> Service:
        started.append(Service(tmp_path / "instance", tmp_path / f"{name}.log", settings))
        return started[-1]

    yield start
    for svc in started:
        # A test that failed half-way still must not leave a running service behind.
        if svc.process.poll() is None:
            svc.stop(signal.SIGTERM)


def smtp_client(port: int) -> smtplib.SMTP:
    """The sink starts independently of the web server, so give it a moment."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return smtplib.SMTP("127.0.0.1", port, timeout=10)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_first_start_serves_the_app_prints_the_admin_login_once_and_stops_on_ctrl_c(service):
    svc = service()
    svc.wait_until_serving()
    processes = descendants(svc.process.pid)
    commands = " | ".join(processes.values())
    with smtp_client(svc.sink_port) as client:
        client.sendmail("a@example.com", ["b@example.com"], b"Subject: caught\r\n\r\nhi\r\n")

    exit_code = svc.stop(signal.SIGINT)

    assert exit_code == 0, svc.output
    assert svc.output.count(ADMIN_LOGIN_LINE) == 1
    assert "admin@example.com" in svc.output
    assert f"web UI http://127.0.0.1:{svc.port}/" in svc.output
    for name in (
        "gunicorn",
        "worker.py",
        "helpdesk.cli sink",
        "helpdesk.cli smtpd",
        "redis-server",
    ):
        assert name in commands
    assert [pid for pid in processes if alive(pid)] == []
    assert any((svc.instance / "maildir" / "new").iterdir())


def test_mail_sent_to_the_demo_mailbox_through_the_gateway_becomes_a_ticket(
    service, empty_database_url
):
    svc = service(settings={"DATABASE_URL": empty_database_url})
    svc.wait_until_serving()
    message = (
        "From: Kim Minji <minji@example.org>\r\nTo: support@example.com\r\n"
        "Subject: Where is my order?\r\nMessage-ID: <gateway-1@example.org>\r\n\r\nHello\r\n"
    )

    with smtp_client(svc.smtpd_port) as client:
        client.sendmail("minji@example.org", ["support@example.com"], message.encode())

    engine = make_engine(empty_database_url, sqlite_begin="DEFERRED")
    with Session(engine) as session:
        subjects = session.scalars(select(Ticket.subject)).all()
    engine.dispose()
    assert svc.stop() == 0, svc.output
    assert "Where is my order?" in subjects
    assert f"mail in at smtp://127.0.0.1:{svc.smtpd_port}" in svc.output


def test_the_admin_login_is_printed_last_after_every_child_is_up(service):
    svc = service()
    svc.wait_until_serving()
    time.sleep(3)  # any start-up line of a child would be out by now
    start_up = svc.output.rstrip().splitlines()
    assert svc.stop() == 0, svc.output

    box, before = start_up[-6:], "\n".join(start_up[:-6])
    assert box[0].startswith("+===") and box[-1] == box[0], "\n".join(start_up[-20:])
    assert ADMIN_LOGIN_LINE in box[1]
    assert "admin@example.com" in box[2]
    assert f"Sign in at http://127.0.0.1:{svc.port}/login" in box[4]
    # The worker's and gunicorn's start-up lines come before the box.
    assert "Listening on" in before
    assert "Booting worker" in before


def test_second_start_does_not_print_the_admin_login_again(service):
    first = service("first")
    first.wait_until_serving()
    assert first.stop() == 0
    second = service("second")
    second.wait_until_serving()
    assert second.stop(signal.SIGTERM) == 0
    assert ADMIN_LOGIN_LINE in first.output
    assert ADMIN_LOGIN_LINE not in second.output
    assert "admin@example.com" not in second.output


def test_a_child_that_dies_stops_the_others_and_exits_non_zero(service):
    svc = service()
    svc.wait_until_serving()
    processes = descendants(svc.process.pid)
    worker = next(pid for pid, command in processes.items() if "worker.py" in command)

    os.kill(worker, signal.SIGKILL)

    assert svc.process.wait(timeout=60) == 1
    assert "worker exited unexpectedly" in svc.output
    assert [pid for pid in processes if alive(pid)] == []


def test_on_postgresql_and_a_redis_server_sigterm_mid_campaign_stops_everything_cleanly(
    service, empty_database_url, redis_conn
):
    svc = service(
        settings={
            "DATABASE_URL": empty_database_url,
            "REDIS_URL": REDIS_URL,
            "CAMPAIGN_RATE_PER_SECOND": "20",
        }
    )
    svc.wait_until_serving()
    smtp_client(svc.sink_port).quit()  # the campaign must not meet a sink still starting
    # The setup writes beside the running worker's own periodic writes: on SQLite it takes
    # the write lock up front (a deferred transaction that reads first cannot wait for it).
    writer = make_engine(empty_database_url)
    with Session(writer) as setup:
        make_subscribers(setup, 100)
        campaign_id = make_sending_campaign(setup).id
        enqueue = jobs.enqueuer(Config.from_env({"REDIS_URL": REDIS_URL, "SECRET_KEY": "x"}))
        start_sending(setup, campaign_id, utcnow(), enqueue_jobs=enqueue)
    writer.dispose()
    engine = make_engine(empty_database_url, sqlite_begin="DEFERRED")
    with Session(engine) as session:
        worker = next(pid for pid, cmd in descendants(svc.process.pid).items() if "worker" in cmd)

        def sending_mid_campaign() -> bool:
            sent = select(func.count()).where(Delivery.state == DeliveryState.sent)
            with fresh_snapshot(session):
                return session.scalar(sent) >= 10 and bool(horses(worker))

        wait_until(sending_mid_campaign, timeout=60, explain=lambda: svc.output)
        processes = descendants(svc.process.pid)

        assert svc.stop(signal.SIGTERM) == 0, svc.output

        assert [command for pid, command in processes.items() if alive(pid)] == []
        with fresh_snapshot(session):
            states = Counter(session.scalars(select(Delivery.state)))
        assert states[DeliveryState.sending] == states[DeliveryState.uncertain] == 0
        assert states[DeliveryState.pending] > 0
    engine.dispose()
