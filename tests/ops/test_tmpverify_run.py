"""`helpdesk run` started for real: web, worker, sink and embedded Redis, stopped by Ctrl-C."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from helpdesk.config import PROJECT_ROOT
from tests.conftest import free_port

START_TIMEOUT = 90
ADMIN_LOGIN_LINE = "Admin login (shown only this once)"


class Service:
    """One `helpdesk run` process with its own instance directory and ports."""

    def __init__(self, instance: Path, log: Path):
        self.instance, self.log = instance, log
        self.port, self.sink_port = free_port(), free_port()
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "SECRET_KEY", "HOST")
        }
        env |= {
            "HELPDESK_INSTANCE": str(instance),
            "PORT": str(self.port),
            "SINK_PORT": str(self.sink_port),
            "PYTHONUNBUFFERED": "1",
        }
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
    from alembic import command
    from helpdesk.db import make_engine
    from helpdesk.migrate import alembic_config
    from helpdesk.models import metadata
    import helpdesk.mail.models, helpdesk.tickets.models  # noqa
    (tmp_path / "instance").mkdir()
    url = f"sqlite:///{tmp_path / 'instance' / 'helpdesk.db'}"
    e = make_engine(url); metadata.create_all(e); e.dispose()
    command.stamp(alembic_config(url), "head")
    started: list[Service] = []

    def start(name: str = "run") -> Service:
        started.append(Service(tmp_path / "instance", tmp_path / f"{name}.log"))
        return started[-1]

    yield start
    for svc in started:
        # A test that failed half-way still must not leave a running service behind.
        if svc.process.poll() is None:
            svc.stop(signal.SIGTERM)


def descendants(pid: int) -> dict[int, str]:
    """Every process below pid, with its command line (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, pending = {}, list(children.get(pid, []))
    while pending:
        child = pending.pop()
        try:
            found[child] = (
                Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            ).decode()
        except OSError:
            continue
        pending.extend(children.get(child, []))
    return found


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


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


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
    for name in ("gunicorn", "worker.py", "helpdesk.cli sink", "redis-server"):
        assert name in commands
    assert [pid for pid in processes if alive(pid)] == []
    assert any((svc.instance / "maildir" / "new").iterdir())


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
