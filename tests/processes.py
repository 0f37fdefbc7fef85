"""Real processes for topology tests: worker.py as production runs it (a forking RQ worker
with a work horse per job), found, signalled and killed the way an operator or a crash does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from helpdesk.config import PROJECT_ROOT
from helpdesk.processes import descendants


def start_worker(*args: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`python worker.py` in its own session, as a process supervisor starts it, logging
    to `log` (a file, not a pipe: a pipe would stay open in a killed worker's children)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, str(PROJECT_ROOT / "worker.py"), *args],
            cwd=PROJECT_ROOT,
            env=dict(os.environ) if env is None else env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def horses(worker_pid: int) -> list[int]:
    """The worker's work horses: RQ puts each in a process group of its own."""
    return [pid for pid in descendants(worker_pid) if _group_of(pid) == pid]


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def kill_worker_and_horse(worker: subprocess.Popen) -> None:
    """SIGKILL to the worker's process group and to its horse's, as when a machine dies."""
    for horse in horses(worker.pid):
        with suppress(ProcessLookupError):
            os.killpg(horse, signal.SIGKILL)
    with suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


def wait_until(condition, timeout: float, explain=lambda: "timed out") -> None:
    """Poll `condition` until it holds; after `timeout` seconds fail with `explain()`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(explain())
        time.sleep(0.02)


@contextmanager
def fresh_snapshot(session) -> Iterator:
    """Read what other processes committed (a new snapshot), leaving no read transaction
    open: on SQLite a later write from a stale snapshot fails ("database is locked") once
    another process has written meanwhile."""
    session.rollback()
    try:
        yield session
    finally:
        session.rollback()
