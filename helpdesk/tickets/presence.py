"""Who else has a ticket open and who is typing a reply, from heartbeats kept in Redis.

Each open ticket page sends a heartbeat every few seconds. A heartbeat is a member of a
sorted set per ticket scored by its time, so stale viewers (closed tab, lost network)
drop out by score without any clean-up job, and the keys expire when nobody looks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis import Redis

# Pages beat every 3 s, so a closed tab (whose leave beacon may never arrive) is gone
# from the others' pages within ~15 s.
VIEWING_SECONDS = 12
# Typing lapses sooner: "is typing" must stop soon after the agent stops.
TYPING_SECONDS = 10


@dataclass(frozen=True)
class Viewer:
    user_id: int
    typing: bool


def _keys(ticket_id: int) -> tuple[str, str]:
    return f"helpdesk:presence:{ticket_id}:viewing", f"helpdesk:presence:{ticket_id}:typing"


def heartbeat(
    redis: Redis, ticket_id: int, user_id: int, *, typing: bool, now: float | None = None
) -> list[Viewer]:
    """Record that the user views (and maybe types on) the ticket; returns the others."""
    now = time.time() if now is None else now
    viewing_key, typing_key = _keys(ticket_id)
    pipe = redis.pipeline(transaction=True)
    pipe.zadd(viewing_key, {str(user_id): now})
    if typing:
        pipe.zadd(typing_key, {str(user_id): now})
    else:
        pipe.zrem(typing_key, str(user_id))
    pipe.zremrangebyscore(viewing_key, "-inf", now - VIEWING_SECONDS)
    pipe.zremrangebyscore(typing_key, "-inf", now - TYPING_SECONDS)
    pipe.expire(viewing_key, VIEWING_SECONDS * 2)
    pipe.expire(typing_key, VIEWING_SECONDS * 2)
    pipe.execute()
    return others(redis, ticket_id, user_id, now=now)


def others(
    redis: Redis, ticket_id: int, user_id: int | None, *, now: float | None = None
) -> list[Viewer]:
    """The users other than `user_id` with a recent heartbeat, by user id so the list
    on the page does not reshuffle with every heartbeat."""
    now = time.time() if now is None else now
    viewing_key, typing_key = _keys(ticket_id)
    pipe = redis.pipeline(transaction=True)
    pipe.zrangebyscore(viewing_key, now - VIEWING_SECONDS, "+inf")
    pipe.zrangebyscore(typing_key, now - TYPING_SECONDS, "+inf")
    viewing, typing = pipe.execute()
    typing_ids = {int(member) for member in typing}
    viewer_ids = sorted(int(member) for member in viewing)
    return [Viewer(uid, uid in typing_ids) for uid in viewer_ids if uid != user_id]


def leave(redis: Redis, ticket_id: int, user_id: int) -> None:
    viewing_key, typing_key = _keys(ticket_id)
    pipe = redis.pipeline(transaction=True)
    pipe.zrem(viewing_key, str(user_id))
    pipe.zrem(typing_key, str(user_id))
    pipe.execute()
