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
from helpdesk.mail.models import RawMessage, RawStatus
from helpdesk.tickets.models import Message, MessageKind, Ticket
from tests.mail.test_imap_cli import poll_environment
from tests.processes import alive, descendants, fresh_snapshot, wait_until

SEED = 13
KILLS = 20
MESSAGES = 300
# Small batches, so that a poll is many fetch, parse and ingest steps a kill can land in.
BATCH = 10
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
        with suppress(OSError, ValueError):
            pid = int(entry.name)
            if os.getpgid(pid) == group and alive(pid):
                members.append(pid)
    return members


def processes_left(groups: list[int]) -> list[int]:
    return [pid for group in groups for pid in group_members(group)]


def message_ids(messages: list[bytes]) -> list[str]:
    """As the tickets keep them, without the angle brackets."""
    return [message_from_bytes(raw)["Message-ID"].strip("<>") for raw in messages]


class LockWatch:
    """Watches the mailbox's poll lock in Redis and notes when a holder other than the
    one it saw at the start takes it."""

    def __init__(self, redis, mailbox_id: int):
        self.redis = redis
        self.key = f"poll-lock:{mailbox_id}"
        self.stale = redis.get(self.key)
        self.taken = threading.Event()
        self.taken_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            holder = self.redis.get(self.key)
            if holder is not None and holder != self.stale:
                self.taken_at = time.monotonic()
                self.taken.set()
                return
            time.sleep(0.002)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class KillRun:
    """Starts the poller again and again and kills its process group at the moment each
    kind of kill waits for, noting what the poller was doing then."""

    def __init__(self, env, log: Path, proxy, redis, mailbox_id: int, rng: random.Random):
        self.env, self.log, self.proxy = env, log, proxy
        self.redis, self.mailbox_id, self.rng = redis, mailbox_id, rng
        self.groups: list[int] = []
        self.kills: Counter = Counter()

    def held_mid_fetch(self) -> None:
        """Held in the middle of the answer to one of its first body FETCHes."""
        self.proxy.pause_in_fetch(self.rng.randint(1, 3), self.rng.randint(200, 12_000))
        poller = self._start("held mid-fetch")
        self._until(poller, self.proxy.paused.is_set)
        time.sleep(self.rng.uniform(0, 0.03))
        self._kill(poller, "held mid-fetch")

    def after_taking_the_lock(self) -> None:
        """Just after it took the lock: taking in what the last one left, or connecting."""
        watch = LockWatch(self.redis, self.mailbox_id)
        poller = self._start("after taking the lock")
        self._until(poller, watch.taken.is_set)
        watch.stop()
        time.sleep(self.rng.uniform(0, 0.05))
        self._kill(poller, "after taking the lock")

    def running_freely(self) -> None:
        """Wherever it is, shortly after one of its first FETCHes was answered."""
        answered = self.rng.randint(1, 4)
        poller = self._start("running freely")
        self._until(poller, lambda: self.proxy.fetches_answered() >= answered)
        time.sleep(self.rng.uniform(0, 0.05))
        self._kill(poller, "running freely")

    def _start(self, moment: str) -> subprocess.Popen:
        self.proxy.forget()
        with self.log.open("a") as out:
            out.write(f"--- poll {len(self.groups)}, to be killed {moment}\n")
        poller = start_poll(self.env, self.log)
        self.groups.append(poller.pid)
        return poller

    def _until(self, poller: subprocess.Popen, moment) -> None:
        wait_until(lambda: moment() or poller.poll() is not None, POLL_TIMEOUT, self.output)
        assert poller.poll() is None, f"the poll ended before its kill:\n{self.output()}"

    def _kill(self, poller: subprocess.Popen, moment: str) -> None:
        reader = "mid-fetch" if self.proxy.fetching() else "not fetching"
        os.killpg(poller.pid, signal.SIGKILL)
        self.kills[moment, reader] += 1
        poller.wait(timeout=10)
        self.proxy.disarm()
        wait_until(lambda: not group_members(poller.pid), 10, self.output)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


def test_poller_killed_twenty_times_then_polled_once_takes_every_message_once(
    session, config, imap_mailbox, imap_account, watching_proxy, redis_conn, tmp_path
):
    messages = generate(MESSAGES, seed=SEED)
    imap_account.append_many(messages)
    imap_mailbox.imap_port = watching_proxy.port
    session.commit()
    env = os.environ | poll_environment(config, imap_account) | {"MAILBOX_POLL_BATCH": str(BATCH)}
    run = KillRun(
        env, tmp_path / "poll.log", watching_proxy, redis_conn, imap_mailbox.id, random.Random(SEED)
    )

    # Half held mid-fetch; the others just after the lock or wherever the poll was.
    held, after_lock, running = run.held_mid_fetch, run.after_taking_the_lock, run.running_freely
    moments = [held, after_lock, held, running]
    for kill in range(KILLS):
        moments[kill % len(moments)]()
    watch = LockWatch(redis_conn, imap_mailbox.id)
    started = time.monotonic()
    final = start_poll(env, tmp_path / "final.log")
    returncode = final.wait(timeout=POLL_TIMEOUT)
    watch.stop()

    output = (tmp_path / "final.log").read_text()
    print(f"kills: {dict(run.kills)}\nfinal poll: {output.strip().splitlines()[-1]}")
    assert returncode == 0, output
    assert "already running" not in run.output() + output
    assert watch.taken_at is not None, output
    print(f"the final poll took the lock {watch.taken_at - started:.2f} s after its start")
    mid_fetch = sum(n for (_, reader), n in run.kills.items() if reader == "mid-fetch")
    assert mid_fetch >= KILLS // 2 and KILLS - mid_fetch >= 3, run.kills
    with fresh_snapshot(session):
        taken = Counter(
            session.scalars(select(Message.message_id).where(Message.kind == MessageKind.customer))
        )
        waiting = session.scalar(
            select(func.count())
            .select_from(RawMessage)
            .where(RawMessage.status == RawStatus.received)
        )
        tickets = session.scalar(select(func.count()).select_from(Ticket))
    assert sorted(taken) == sorted(message_ids(messages))
    assert set(taken.values()) == {1} and sum(taken.values()) == MESSAGES
    assert waiting == 0
    replies = sum(1 for raw in messages if b"In-Reply-To:" in raw)
    assert tickets == MESSAGES - replies
    # The final poll's parse processes end as it exits, within moments.
    groups = [*run.groups, final.pid]
    wait_until(
        lambda: not processes_left(groups),
        timeout=10,
        explain=lambda: f"left running: {processes_left(groups)}",
    )


def test_parse_processes_end_when_their_poller_alone_is_killed(
    session, config, imap_mailbox, imap_account, watching_proxy, tmp_path
):
    imap_account.append_many(generate(50, seed=SEED))
    imap_mailbox.imap_port = watching_proxy.port
    session.commit()
    env = os.environ | poll_environment(config, imap_account) | {"MAILBOX_POLL_BATCH": str(BATCH)}
    # Held in its second FETCH, so the first batch was handed to the parse processes.
    watching_proxy.pause_in_fetch(2, 1)
    poller = start_poll(env, tmp_path / "poll.log")
    wait_until(lambda: watching_proxy.paused.is_set() or poller.poll() is not None, POLL_TIMEOUT)
    helpers = descendants(poller.pid)
    assert helpers, "no parse processes were started"

    poller.kill()  # only the poller, as the OOM killer does
    poller.wait()

    wait_until(
        lambda: not [pid for pid in helpers if alive(pid)],
        timeout=10,
        explain=lambda: f"left running: {[c for p, c in helpers.items() if alive(p)]}",
    )
