"""The lock that keeps two pollers off one mailbox.

It lives only seconds in Redis and a thread of its holder renews it while the holder runs,
so a poller whose machine dies blocks the next one for at most LOCK_SECONDS (a lock as
long as the whole poll budget kept the mailbox unpolled for minutes). The lock carries its
holder's token: a poller whose lock ran out (Redis restarted, the process stalled) is
told so by `check` and stops before its next batch, instead of releasing someone else's.

The holder keeps one Redis connection of its own for the lock, and its token names that
connection. A poller killed with -9 (or crashed) loses the connection at once, and the
next poller that finds the lock takes it over without waiting for it to run out: a
restarted poll goes on straight away.
"""

from __future__ import annotations

import logging
import threading
import uuid

from redis.exceptions import LockError, RedisError, ResponseError

log = logging.getLogger(__name__)

LOCK_SECONDS = 10

# Deletes the lock only if it still carries the dead holder's token, so a holder that
# took it meanwhile keeps it.
_DELETE_IF_HELD_BY = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class PollLockLost(RuntimeError):
    """The lock ran out or was taken over while this poller held it."""


class PollLock:
    def __init__(self, redis, mailbox_id: int, seconds: float = LOCK_SECONDS) -> None:
        self.mailbox_id = mailbox_id
        self._name = f"poll-lock:{mailbox_id}"
        self._seconds = seconds
        self._shared = redis
        self._redis = None
        self._lock = None
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._renewer: threading.Thread | None = None
        self._renew_every = seconds / 3

    def acquire(self) -> bool:
        """True when this poller now holds the mailbox; raises RedisError when Redis
        cannot be asked."""
        # One connection for every command on the lock, the renewals included: its id is
        # in the token, and it closes when this process dies.
        self._redis = self._shared.client()
        # Not thread-local: the renewing thread must see the token the poller took.
        self._lock = self._redis.lock(self._name, timeout=self._seconds, thread_local=False)
        try:
            token = f"{self._redis.client_id()}:{uuid.uuid4().hex}"
            taken = self._lock.acquire(blocking=False, token=token)
            if not taken and self._take_over_from_dead_holder():
                taken = self._lock.acquire(blocking=False, token=token)
        except BaseException:
            self._redis.close()
            raise
        if not taken:
            self._redis.close()
            return False
        self._renewer = threading.Thread(
            target=self._renew, name=f"poll-lock-{self.mailbox_id}", daemon=True
        )
        self._renewer.start()
        return True

    def check(self) -> None:
        if self._lost.is_set():
            raise PollLockLost(f"the poll lock of mailbox {self.mailbox_id} was lost")

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        try:
            self._lock.release()
        except LockError:
            log.warning("mailbox %s: poll lock had run out before the poll ended", self.mailbox_id)
        except RedisError as exc:
            log.warning("mailbox %s: poll lock not released (%s)", self.mailbox_id, exc)
        finally:
            self._redis.close()

    def _take_over_from_dead_holder(self) -> bool:
        """Delete the lock when its holder's connection is gone; True when it was."""
        token = self._redis.get(self._name)
        holder, separator, _ = (token or b"").partition(b":")
        if not separator or not holder.isdigit():
            return False  # gone meanwhile, or not a token of this kind: wait for it to run out
        try:
            # Client ids are never reused while Redis runs: one not connected now never
            # will be again.
            if self._redis.client_list(client_id=[int(holder)]):
                return False
        except ResponseError:
            return False  # CLIENT LIST is not allowed here (Redis before 6.2, an ACL)
        deleted = self._redis.eval(_DELETE_IF_HELD_BY, 1, self._name, token)
        if deleted:
            log.warning("mailbox %s: took over the lock of a poller that died", self.mailbox_id)
        return bool(deleted)

    def _renew(self) -> None:
        while not self._stop.wait(self._renew_every):
            try:
                self._lock.reacquire()
            except (LockError, RedisError) as exc:
                log.warning("mailbox %s: poll lock lost: %s", self.mailbox_id, exc)
                self._lost.set()
                return
