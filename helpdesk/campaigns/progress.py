"""Where each sending job is inside its claimed batch, kept in Redis message by message, and
which jobs are sending a campaign right now.

The database learns outcomes in groups (a commit per quarter second), so after a crash it
cannot tell which of a dead worker's claimed deliveries were handed to the relay. Before a
message's body goes out, the job records in Redis, in one round trip, that this delivery is
now in flight and which earlier ones the relay accepted. After a crash, recovery reads the
record: accepted deliveries are sent, the one in flight is uncertain (the relay may have
taken it), every other claimed delivery was never handed over and goes back to pending.
So a killed job costs at most one uncertain recipient.

Recovery takes a record over before it acts on it, and a job whose record was taken over
may not send another message: a job presumed dead that was only slow stops by itself
instead of sending what has already been handed to someone else.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

PREFIX = "helpdesk:campaigns"
# A record outlives any lease by far; one whose owner's rows were never recovered (the
# database was restored, say) goes away by itself.
RECORD_TTL_SECONDS = 7 * 24 * 3600
# A sending job says it is alive every HEARTBEAT_SECONDS; one not heard from for
# SENDER_TTL_SECONDS is taken for dead when deciding whether a campaign needs new jobs.
HEARTBEAT_SECONDS = 1.0
SENDER_TTL_SECONDS = 5


class ClaimLost(Exception):
    """Recovery took this job's batch over (it was presumed dead): it must stop sending."""


# KEYS[1] the record. ARGV: delivery now in flight, then (id, Message-ID, time) triples of
# deliveries accepted since the last call. 0 when the record was taken over or is gone.
_ADVANCE = """
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'taken') == 1 then
  return 0
end
for i = 2, #ARGV, 3 do
  redis.call('HSET', KEYS[1], 'accepted:' .. ARGV[i], ARGV[i + 1] .. ' ' .. ARGV[i + 2])
end
redis.call('HSET', KEYS[1], 'inflight', ARGV[1])
return 1
"""

# KEYS[1] the record: marks it taken over and returns its fields, or nil when there is none.
_TAKE_OVER = """
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
redis.call('HSET', KEYS[1], 'taken', '1')
return redis.call('HGETALL', KEYS[1])
"""


@dataclass(frozen=True)
class Accepted:
    message_id: str
    at: datetime


@dataclass(frozen=True)
class BatchRecord:
    """What a dead job's record says about its claimed deliveries."""

    accepted: dict[int, Accepted]
    in_flight: int | None


@dataclass
class SendProgress:
    """One sending job's record (`claimer` is the job's claim name).

    Per message: `announce(delivery_id)` sends the record's update to Redis without
    waiting, before the envelope; `confirm()` reads Redis's answer right before the body
    goes out. The round trip to Redis thus overlaps the relay's to MAIL, RCPT and DATA,
    and the record is still written before the body leaves.
    """

    redis: object
    claimer: str
    _unrecorded: list[str] = field(default_factory=list, init=False, repr=False)
    _connection: object = field(default=None, init=False, repr=False)
    _awaiting: bool = field(default=False, init=False, repr=False)
    _sha: str = field(default="", init=False, repr=False)

    @property
    def key(self) -> str:
        return record_key(self.claimer)

    def open_batch(self) -> None:
        """Before the claim commits: a record with nothing in flight, so that a crash right
        after the claim sends every claimed delivery back to pending."""
        self._settle()
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self.key)
        pipe.hset(self.key, "open", "1")
        pipe.expire(self.key, RECORD_TTL_SECONDS)
        pipe.execute()
        self._unrecorded.clear()

    def accepted(self, delivery_id: int, message_id: str, at: datetime) -> None:
        """The relay took this message; recorded with the next announcement (a crash
        before that leaves this one in flight: uncertain, never sent twice)."""
        self._unrecorded += [str(delivery_id), message_id, at.astimezone(UTC).isoformat()]

    def guard(self, delivery_id: int) -> DeliveryGuard:
        """What `CampaignSender.submit` calls around this delivery's envelope."""
        return DeliveryGuard(self, delivery_id)

    def announce(self, delivery_id: int) -> None:
        """This delivery is about to be handed to the relay: send the update, unanswered."""
        self._settle()
        if self._connection is None:
            self._sha = self.redis.script_load(_ADVANCE)
            self._connection = self.redis.connection_pool.get_connection()
        args = [delivery_id, *self._unrecorded]
        self._connection.send_command("EVALSHA", self._sha, 1, self.key, *args)
        self._awaiting = True
        self._unrecorded.clear()

    def confirm(self) -> None:
        """Redis has the update: the body may go out. Raises ClaimLost when recovery took
        the batch over."""
        self._awaiting = False
        try:
            answer = self._connection.read_response()
        except BaseException:
            self._release(broken=True)
            raise
        if not answer:
            raise ClaimLost(self.claimer)

    def close_batch(self) -> None:
        """Every outcome of the batch is committed to the database: the record is done."""
        self._settle()
        self.redis.delete(self.key)
        self._unrecorded.clear()

    def close(self) -> None:
        self._settle()
        self._release()

    def _settle(self) -> None:
        """Read an answer left unread (the message was refused before its body)."""
        if self._awaiting:
            with suppress(ClaimLost):
                self.confirm()

    def _release(self, broken: bool = False) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            if broken:
                connection.disconnect()
            self.redis.connection_pool.release(connection)


@dataclass(frozen=True)
class DeliveryGuard:
    progress: SendProgress
    delivery_id: int

    def announce(self) -> None:
        self.progress.announce(self.delivery_id)

    def confirm(self) -> None:
        self.progress.confirm()


def record_key(claimer: str) -> str:
    return f"{PREFIX}:progress:{claimer}"


def take_over(redis, claimer: str) -> BatchRecord | None:
    """The dead job's record, marked so that the job cannot send again if it was alive
    after all; None when Redis has no record (lost with a Redis restart)."""
    fields = redis.eval(_TAKE_OVER, 1, record_key(claimer))
    if fields is None:
        return None
    values = {_text(fields[i]): _text(fields[i + 1]) for i in range(0, len(fields), 2)}
    accepted = {}
    for name, value in values.items():
        if name.startswith("accepted:"):
            message_id, _, at = value.rpartition(" ")
            accepted[int(name.removeprefix("accepted:"))] = Accepted(
                message_id, datetime.fromisoformat(at)
            )
    in_flight = values.get("inflight")
    return BatchRecord(accepted, int(in_flight) if in_flight else None)


def forget(redis, claimers: list[str]) -> None:
    """Recovery committed its decisions: the records it took over are done."""
    if claimers:
        redis.delete(*(record_key(claimer) for claimer in claimers))


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass
class CampaignSenders:
    """The jobs sending each campaign right now, so that new jobs are queued only for a
    campaign nobody is sending. A job is listed while a thread in its process says so
    every second: when the process dies, it drops off within SENDER_TTL_SECONDS."""

    redis: object

    def key(self, campaign_id: int) -> str:
        return f"{PREFIX}:{campaign_id}:senders"

    @contextmanager
    def sending(self, campaign_id: int, claimer: str) -> Iterator[None]:
        stop = threading.Event()
        self._alive(campaign_id, claimer)
        beat = threading.Thread(
            target=self._beat, args=(campaign_id, claimer, stop), name="sender-alive", daemon=True
        )
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join()
            self.redis.zrem(self.key(campaign_id), claimer)

    def _beat(self, campaign_id: int, claimer: str, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                self._alive(campaign_id, claimer)
            except RedisError:
                log.warning("could not tell Redis that campaign %s is being sent", campaign_id)

    def _alive(self, campaign_id: int, claimer: str) -> None:
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(self.key(campaign_id), {claimer: now + SENDER_TTL_SECONDS})
        pipe.zremrangebyscore(self.key(campaign_id), 0, now)
        pipe.expire(self.key(campaign_id), SENDER_TTL_SECONDS * 2)
        pipe.execute()

    def count(self, campaign_id: int) -> int:
        return self.redis.zcount(self.key(campaign_id), time.time(), "+inf")

    def reserve_start(self, campaign_id: int, seconds: int = 10) -> bool:
        """True for the one caller that may queue jobs for this campaign now: two workers
        starting at once must not both queue a full set."""
        return bool(self.redis.set(f"{PREFIX}:{campaign_id}:starting", "1", nx=True, ex=seconds))
