"""Opens and clicks buffered in Redis and counted in batches: the view appends a compact
event to a Redis list (`TrackingEventLog`), a flush job hands the events out in batches,
and `apply_events` counts each batch with a few set-based statements, exactly once.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from helpdesk.campaigns.models import (
    CampaignLink,
    ClickEvent,
    Delivery,
    OpenEvent,
    TrackingBatch,
)
from helpdesk.campaigns.tracking import is_machine_open
from helpdesk.db import UTCDateTime, chunks


def open_event(token: str, at: datetime, user_agent: str, remote_ip: str) -> str:
    """An open as the flush job reads it back: whether it was a machine's is decided
    there, against the delivery's sending time."""
    return json.dumps(["o", token, at.timestamp(), user_agent[:500], remote_ip])


def click_event(token: str, position: int, at: datetime, user_agent: str) -> str:
    return json.dumps(["c", token, at.timestamp(), user_agent[:500], position])


@dataclass(frozen=True)
class EventBatch:
    id: str
    events: list[bytes]


# Claims the next batch for one flusher: first a batch whose flusher has not answered
# within the lease (it died; its events must not be lost), else up to ARGV[1] new events,
# moved in one step from the list to the batch's own list and registered with the claim
# time. KEYS: events list, in-flight sorted set. ARGV: limit, new batch id, lease
# seconds, batch key prefix.
_CLAIM = """
local now = tonumber(redis.call('TIME')[1])
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]),
                         'LIMIT', 0, 1)
if #stale > 0 then
  redis.call('ZADD', KEYS[2], now, stale[1])
  return {stale[1], redis.call('LRANGE', ARGV[4] .. stale[1], 0, -1)}
end
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items == 0 then return false end
redis.call('LTRIM', KEYS[1], #items, -1)
for i = 1, #items, 500 do
  redis.call('RPUSH', ARGV[4] .. ARGV[2], unpack(items, i, math.min(i + 499, #items)))
end
redis.call('ZADD', KEYS[2], now, ARGV[2])
return {ARGV[2], items}
"""


# One command per event: append, and raise the pending flag when it is down (1 = the
# caller queues a flush job). KEYS: events list, pending flag. ARGV: event, flag expiry.
_PUSH = """
redis.call('RPUSH', KEYS[1], ARGV[1])
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', tonumber(ARGV[2])) then return 1 end
return 0
"""


@dataclass
class TrackingEventLog:
    """Opens and clicks waiting in Redis to be counted.

    A view `push`es; a flush job `claim`s a batch, applies it, commits and `ack`s it.
    A batch claimed and never acknowledged is handed out again after `lease_seconds`,
    and `apply_events` recognises a batch it already counted, so a flusher that dies at
    any point loses nothing and counts nothing twice.
    """

    redis: object
    prefix: str = "helpdesk:tracking"
    # A flush job is queued when an event finds this flag unset; it expires so that a
    # job lost with its worker cannot keep new jobs from being queued for long.
    pending_seconds: int = 60
    _claim: object = field(default=None, init=False, repr=False)
    _push: object = field(default=None, init=False, repr=False)

    @property
    def events_key(self) -> str:
        return f"{self.prefix}:events"

    @property
    def inflight_key(self) -> str:
        return f"{self.prefix}:inflight"

    @property
    def pending_key(self) -> str:
        return f"{self.prefix}:flush-pending"

    @property
    def batch_prefix(self) -> str:
        return f"{self.prefix}:batch:"

    def push(self, event: str) -> bool:
        """Append one event (one round trip); True when the caller should queue a flush."""
        if self._push is None:
            self._push = self.redis.register_script(_PUSH)
        return bool(
            self._push(keys=[self.events_key, self.pending_key], args=[event, self.pending_seconds])
        )

    def flush_queued_failed(self) -> None:
        """The job could not be queued: let the next event try again."""
        self.redis.delete(self.pending_key)

    def claim(self, limit: int, lease_seconds: int) -> EventBatch | None:
        if self._claim is None:
            self._claim = self.redis.register_script(_CLAIM)
        answer = self._claim(
            keys=[self.events_key, self.inflight_key],
            args=[limit, uuid.uuid4().hex, lease_seconds, self.batch_prefix],
        )
        if not answer:
            return None
        batch_id, events = answer
        return EventBatch(batch_id.decode() if isinstance(batch_id, bytes) else batch_id, events)

    def ack(self, batch_id: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self.batch_prefix + batch_id)
        pipe.zrem(self.inflight_key, batch_id)
        pipe.execute()

    def round_done(self) -> bool:
        """Called when a claim found nothing. Clears the pending flag, then looks once
        more: an event pushed meanwhile saw the flag set and queued no job, so this
        flusher goes on (True means nothing is left)."""
        self.redis.delete(self.pending_key)
        if self.redis.llen(self.events_key):
            self.redis.set(self.pending_key, 1, ex=self.pending_seconds)
            return False
        return True

    def schedule_recheck(self, lease_seconds: int) -> bool:
        """True for the one caller that should queue a look at in-flight batches once
        their lease is over; the others leave it to that one."""
        return bool(self.redis.set(f"{self.prefix}:recheck", 1, nx=True, ex=lease_seconds + 5))

    def in_flight(self) -> int:
        return int(self.redis.zcard(self.inflight_key))

    def waiting(self) -> int:
        """Events not yet counted: queued, or in a batch claimed and not acknowledged."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.llen(self.events_key)
        pipe.zcard(self.inflight_key)
        queued, inflight = pipe.execute()
        return int(queued) + int(inflight)


@dataclass
class AppliedEvents:
    opens: int = 0
    machine_opens: int = 0
    clicks: int = 0
    dropped: int = 0
    duplicate: bool = False


def apply_events(
    session: Session, batch_id: str | None, events: list, *, machine_window_s: int
) -> AppliedEvents:
    """Count a batch of buffered events, as `record_open` / `record_click` would have
    one by one: an OpenEvent / ClickEvent row each, and per delivery one UPDATE of its
    counters and first-open / first-click times.

    The batch id is written in the same transaction, and a batch whose id is already
    there is skipped. On PostgreSQL a second flusher applying the same batch at the same
    moment waits on that row and then fails with an IntegrityError; the caller finds
    the id committed and treats the batch as done. Events naming no delivery or link
    (a deleted campaign) are dropped.
    """
    result = AppliedEvents()
    if batch_id is not None:
        if batch_applied(session, batch_id):
            result.duplicate = True
            return result
        session.add(TrackingBatch(id=batch_id))
        session.flush()
    parsed = []
    for raw in events:
        try:
            kind, token, at, user_agent, extra = json.loads(raw)
            parsed.append(
                (kind, str(token), datetime.fromtimestamp(float(at), UTC), user_agent, extra)
            )
        except (ValueError, TypeError):
            result.dropped += 1
    deliveries = {}
    for chunk in chunks(sorted({event[1] for event in parsed})):
        for row in session.execute(
            select(Delivery.id, Delivery.token, Delivery.sent_at, Delivery.campaign_id).where(
                Delivery.token.in_(chunk)
            )
        ):
            deliveries[row.token] = row
    link_ids = {}
    click_campaigns = sorted(
        {deliveries[e[1]].campaign_id for e in parsed if e[0] == "c" and e[1] in deliveries}
    )
    for chunk in chunks(click_campaigns):
        for link_id, campaign_id, position in session.execute(
            select(CampaignLink.id, CampaignLink.campaign_id, CampaignLink.position).where(
                CampaignLink.campaign_id.in_(chunk)
            )
        ):
            link_ids[(campaign_id, position)] = link_id

    open_rows, click_rows = [], []
    opens: dict[int, list] = {}  # delivery id -> [human, machine, first human open]
    clicks: dict[int, list] = {}  # delivery id -> [clicks, first click]
    for kind, token, at, user_agent, extra in parsed:
        delivery = deliveries.get(token)
        if delivery is None:
            result.dropped += 1
            continue
        if kind == "o":
            machine = is_machine_open(
                user_agent, str(extra), delivery.sent_at, at, machine_window_s
            )
            open_rows.append(
                {
                    "delivery_id": delivery.id,
                    "at": at,
                    "is_machine": machine,
                    "user_agent": user_agent,
                }
            )
            counts = opens.setdefault(delivery.id, [0, 0, None])
            if machine:
                counts[1] += 1
                result.machine_opens += 1
            else:
                counts[0] += 1
                counts[2] = at if counts[2] is None else min(counts[2], at)
                result.opens += 1
        elif kind == "c":
            link_id = link_ids.get((delivery.campaign_id, extra))
            if link_id is None:
                result.dropped += 1
                continue
            click_rows.append(
                {"delivery_id": delivery.id, "link_id": link_id, "at": at, "user_agent": user_agent}
            )
            counts = clicks.setdefault(delivery.id, [0, None])
            counts[0] += 1
            counts[1] = at if counts[1] is None else min(counts[1], at)
            result.clicks += 1
        else:
            result.dropped += 1
    if open_rows:
        session.execute(insert(OpenEvent), open_rows)
    if click_rows:
        session.execute(insert(ClickEvent), click_rows)
    table = Delivery.__table__
    # Rows are updated in id order, so two flushers never wait on each other in a cycle.
    if opens:
        session.execute(
            table.update()
            .where(table.c.id == bindparam("delivery_id"))
            .values(
                open_count=table.c.open_count + bindparam("humans"),
                machine_open_count=table.c.machine_open_count + bindparam("machines"),
                first_opened_at=func.coalesce(
                    table.c.first_opened_at, bindparam("first_at", type_=UTCDateTime())
                ),
            ),
            [
                {"delivery_id": d, "humans": h, "machines": m, "first_at": first}
                for d, (h, m, first) in sorted(opens.items())
            ],
        )
    if clicks:
        session.execute(
            table.update()
            .where(table.c.id == bindparam("delivery_id"))
            .values(
                click_count=table.c.click_count + bindparam("clicks"),
                first_clicked_at=func.coalesce(
                    table.c.first_clicked_at, bindparam("first_at", type_=UTCDateTime())
                ),
            ),
            [
                {"delivery_id": d, "clicks": n, "first_at": first}
                for d, (n, first) in sorted(clicks.items())
            ],
        )
    return result


def batch_applied(session: Session, batch_id: str) -> bool:
    return session.get(TrackingBatch, batch_id) is not None


def forget_applied_batches(session: Session, older_than: datetime) -> int:
    """Batch ids are only needed while a batch could still be handed out again."""
    return session.execute(
        delete(TrackingBatch).where(TrackingBatch.applied_at < older_than)
    ).rowcount
