"""The RQ job that forgets expired Idempotency-Keys; idle workers queue it once an hour."""

from __future__ import annotations

import logging
from datetime import timedelta

from redis.exceptions import RedisError
from rq import Queue

from helpdesk.api import idempotency
from helpdesk.config import Config
from helpdesk.db import session_scope
from helpdesk.queue import DEFAULT_QUEUE

log = logging.getLogger(__name__)

CLEANUP_KEY = "helpdesk:api:idempotency-cleanup"
CLEANUP_EVERY_SECONDS = 3600


def queue_idempotency_cleanup(redis, every_seconds: int = CLEANUP_EVERY_SECONDS) -> bool:
    """Queue `forget_expired_idempotency_keys` at most once every `every_seconds`; the
    worker calls this with its campaign check."""
    try:
        if not redis.set(CLEANUP_KEY, "1", nx=True, ex=every_seconds):
            return False
        Queue(DEFAULT_QUEUE, connection=redis).enqueue(forget_expired_idempotency_keys)
        return True
    except RedisError:
        log.exception("could not queue the idempotency key cleanup")
        return False


def forget_expired_idempotency_keys() -> int:
    """Delete the keys older than API_IDEMPOTENCY_TTL_HOURS; returns how many."""
    config = Config.from_env()
    with session_scope() as session:
        return idempotency.purge_expired(session, timedelta(hours=config.api_idempotency_ttl_hours))
