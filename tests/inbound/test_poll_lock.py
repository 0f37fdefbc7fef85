"""The poll lock: held only while its holder lives, renewed while it works, and a poller
that lost it is told so."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace

import pytest

from helpdesk.inbound.poll import poll_mailbox
from helpdesk.inbound.poll_lock import LOCK_SECONDS, PollLock, PollLockLost
from tests.conftest import REDIS_URL

HOLD_FOREVER = f"""
from redis import Redis
from helpdesk.inbound.poll_lock import PollLock
lock = PollLock(Redis.from_url({REDIS_URL!r}), 7)
assert lock.acquire()
print("held", flush=True)
import time
time.sleep(600)
"""


def test_a_lock_whose_holder_is_killed_is_taken_over_at_once(redis_conn):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_FOREVER], stdout=subprocess.PIPE)
    assert holder.stdout.readline() == b"held\n"
    assert not PollLock(redis_conn, 7).acquire()

    holder.kill()
    holder.wait()
    successor = PollLock(redis_conn, 7)

    # Redis notices the closed connection within milliseconds; the lock has seconds left.
    deadline = time.monotonic() + 1
    while not successor.acquire():
        assert time.monotonic() < deadline, "the dead holder's lock stayed"
        time.sleep(0.01)
    assert redis_conn.pttl("poll-lock:7") > (LOCK_SECONDS - 1) * 1000
    successor.release()


def test_a_holder_whose_connection_was_cut_loses_the_lock_to_the_next_poller(redis_conn):
    holder = PollLock(redis_conn, 10, seconds=1)
    assert holder.acquire()
    holder_id = int(redis_conn.get("poll-lock:10").split(b":")[0])
    redis_conn.client_kill_filter(_id=holder_id)  # a network cut, as Redis sees it

    successor = PollLock(redis_conn, 10, seconds=1)
    assert successor.acquire()
    time.sleep(1)

    with pytest.raises(PollLockLost):
        holder.check()
    holder.release()
    successor.check()
    successor.release()


def test_a_live_holder_keeps_the_lock_past_its_lifetime(redis_conn):
    holder = PollLock(redis_conn, 8, seconds=1)
    assert holder.acquire()
    time.sleep(2.5)

    assert not PollLock(redis_conn, 8, seconds=1).acquire()
    holder.check()
    holder.release()
    assert PollLock(redis_conn, 8, seconds=1).acquire()


def test_a_holder_whose_lock_vanished_is_told_before_its_next_batch(redis_conn):
    holder = PollLock(redis_conn, 9, seconds=1)
    assert holder.acquire()
    redis_conn.delete("poll-lock:9")  # Redis restarted without persistence, say
    time.sleep(1)

    with pytest.raises(PollLockLost):
        holder.check()
    holder.release()


def test_a_poll_without_redis_records_why_and_takes_nothing(config):
    unreachable = replace(config, redis_url="redis://127.0.0.1:1/0")

    result = poll_mailbox(1, unreachable)

    assert result.error.startswith("cannot take the poll lock")
    assert result.fetched == 0
