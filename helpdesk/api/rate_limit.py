"""Requests per token per fixed window, counted in Redis so every web process shares the
count; the RateLimit-* headers (IETF draft) and Retry-After on 429 tell clients to slow."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger("helpdesk.api")


@dataclass(frozen=True)
class Allowance:
    limit: int
    remaining: int
    reset_seconds: int

    @property
    def exceeded(self) -> bool:
        return self.remaining < 0

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(self.remaining, 0)),
            "RateLimit-Reset": str(self.reset_seconds),
        }


def take(redis: Redis, token_id: int, *, limit: int, window: int) -> Allowance | None:
    """Counts one request; None when Redis cannot answer (the API then serves unlimited
    rather than not at all)."""
    now = time.time()
    window_start = int(now // window) * window
    key = f"api:rate:{token_id}:{window_start}"
    try:
        pipe = redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, window + 1)
        count, _ = pipe.execute()
    except RedisError as exc:
        log.warning("api rate limit not applied, Redis failed: %s", exc)
        return None
    reset = max(1, int(window_start + window - now + 0.999))
    return Allowance(limit=limit, remaining=limit - int(count), reset_seconds=reset)
