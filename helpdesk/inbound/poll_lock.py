"""The lock that keeps two pollers off one mailbox.

It lives only seconds in Redis and a thread of its holder renews it while the holder runs,
so a poller killed with -9 blocks the next one for at most LOCK_SECONDS (a lock as long
as the whole poll budget kept the mailbox unpolled for minutes). The lock carries its
holder's token: a poller whose lock ran out (Redis restarted, the process stalled) is
told so by `check` and stops before its next batch, instead of releasing someone else's.
"""

from __future__ import annotations

import logging
import threading

from redis.exceptions import LockError, RedisError

log = logging.getLogger(__name__)

LOCK_SECONDS = 10


class PollLockLost(RuntimeError):
    """The lock ran out or was taken over while this poller held it."""


class PollLock:
    def __init__(self, redis, mailbox_id: int, seconds: float = LOCK_SECONDS) -> None:
        self.mailbox_id = mailbox_id
        # Not thread-local: the renewing thread must see the token the poller took.
        self._lock = redis.lock(f"poll-lock:{mailbox_id}", timeout=seconds, thread_local=False)
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._renewer: threading.Thread | None = None
        self._renew_every = seconds / 3

    def acquire(self) -> bool:
        """True when this poller now holds the mailbox; raises RedisError when Redis
        cannot be asked."""
        if not self._lock.acquire(blocking=False):
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

    def _renew(self) -> None:
        while not self._stop.wait(self._renew_every):
            try:
                self._lock.reacquire()
            except (LockError, RedisError) as exc:
                log.warning("mailbox %s: poll lock lost: %s", self.mailbox_id, exc)
                self._lost.set()
                return
