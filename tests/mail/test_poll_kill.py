"""`helpdesk poll` killed with SIGKILL, its parse processes with it, at random moments and
restarted at once, twenty times: one undisturbed poll after that leaves every message
taken in exactly once, no stored message waiting, no process behind, and it does not wait
for the dead pollers' lock."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import suppress
from email import message_from_bytes
from pathlib import Path

from sqlalchemy import func, select

from bench.ingest import generate
from helpdesk.config import PROJECT_ROOT
from helpdesk.inbound.poll_lock import LOCK_SECONDS
from helpdesk.mail.models import RawMessage, RawStatus
from helpdesk.tickets.models import Message, MessageKind, Ticket
from tests.mail.test_imap_cli import poll_environment
from tests.processes import alive, fresh_snapshot, wait_until

SEED = 13
KILLS = 20
MESSAGES = 400
# Small batches, so that a poll is many fetch, parse and ingest steps a kill can land in.
BATCH = 10
# The kills not timed by a FETCH come this long after the start (the CLI takes about
# half a second to start, then takes in a batch every few tens of milliseconds).
RANDOM_KILL_SECONDS = (0.2, 2.0)
POLL_TIMEOUT = 120


def start_poll(env: dict[str, str], log: Path) -> subprocess.Popen:
    """`helpdesk poll` in a process group of its own, as a supervisor or cron starts it;
    its output goes to a file, which stays readable after a kill."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "helpdesk.cli", "poll"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def group_members(group: int) -> list[int]:
    """The live processes in process group `group`."""
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        with suppress(OSError, ValueError, IndexError):
            pid = int(entry.name)
            if os.getpgid(pid) == group and alive(pid):
                members.append(pid)
    return members


def kill_group(poller: subprocess.Popen) -> None:
    """SIGKILL to the poller and every process it started, at one instant."""
    with suppress(ProcessLookupError):
        os.killpg(poller.pid, signal.SIGKILL)
    poller.wait(timeout=10)


def message_ids(messages: list[bytes]) -> list[str]:
    return [message_from_bytes(raw)["Message-ID"] for raw in messages]


class LockWatch:
    """Watches the mailbox's poll lock in Redis and notes when a holder other than the
    one it saw at the start took it."""

    def __init__(self, redis, mailbox_id: int):
        self.redis = redis
        self.key = f"poll-lock:{mailbox_id}"
        self.stale = redis.get(self.key)
        self.taken_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            holder = self.redis.get(self.key)
            if holder is not None and holder != self.stale:
                self.taken_at = time.monotonic()
                return
            time.sleep(0.005)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def test_poller_killed_twenty_times_then_polled_once_takes_every_message_once(
    session, config, imap_mailbox, imap_account, pausing_proxy, redis_conn, tmp_path
):
    rng = random.Random(SEED)
    messages = generate(MESSAGES, seed=SEED)
    imap_account.append_many(messages)
    imap_mailbox.imap_port = pausing_proxy.port
    session.commit()
    env = os.environ | poll_environment(config, imap_account) | {"MAILBOX_POLL_BATCH": str(BATCH)}
    log = tmp_path / "poll.log"
    groups = []

    for kill in range(KILLS):
        mid_fetch = kill % 2 == 0
        if mid_fetch:
            pausing_proxy.pause_in_fetch(rng.randint(1, 3), rng.randint(200, 12_000))
        with log.open("a") as out:
            out.write(f"--- poll {kill}, killed {'mid-fetch' if mid_fetch else 'at random'}\n")
        poller = start_poll(env, log)
        groups.append(poller.pid)
        if mid_fetch:
            wait_until(
                lambda: pausing_proxy.paused.is_set() or poller.poll() is not None,
                timeout=POLL_TIMEOUT,
            )
            time.sleep(rng.uniform(0, 0.05))
            print(kill, "paused", pausing_proxy.paused.is_set(), time.monotonic())
        else:
            time.sleep(rng.uniform(*RANDOM_KILL_SECONDS))
        assert poller.poll() is None, f"poll {kill} ended before its kill:\n{log.read_text()}"
        kill_group(poller)
        pausing_proxy.disarm()
        wait_until(lambda: not group_members(poller.pid), timeout=10, explain=log.read_text)

    watch = LockWatch(redis_conn, imap_mailbox.id)
    started = time.monotonic()
    final = start_poll(env, tmp_path / "final.log")
    groups.append(final.pid)
    returncode = final.wait(timeout=POLL_TIMEOUT)
    watch.stop()

    output = (tmp_path / "final.log").read_text()
    assert returncode == 0, output
    assert "already running" not in output
    assert watch.taken_at is not None and watch.taken_at - started < LOCK_SECONDS / 2
    print(f"final poll took the lock {watch.taken_at - started:.2f} s after its start")
    with fresh_snapshot(session):
        taken = Counter(
            session.scalars(select(Message.message_id).where(Message.kind == MessageKind.customer))
        )
        waiting = session.scalar(
            select(func.count()).select_from(RawMessage).where(RawMessage.status == RawStatus.received)
        )
        tickets = session.scalar(select(func.count()).select_from(Ticket))
    delivered = message_ids(messages)
    assert sorted(taken) == sorted(delivered)
    assert set(taken.values()) == {1}
    assert waiting == 0
    replies = sum(1 for raw in messages if b"In-Reply-To:" in raw)
    assert tickets == MESSAGES - replies
    assert not [pid for group in groups for pid in group_members(group)]
