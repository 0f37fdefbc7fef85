"""The RQ job that forgets expired Idempotency-Keys; idle workers queue it once an hour."""

from __future__ import annotations

from datetime import timedelta

from helpdesk.api import idempotency
from helpdesk.config import Config
from helpdesk.db import session_scope
from helpdesk.queue import queue_at_most_every

CLEANUP_KEY = "helpdesk:api:idempotency-cleanup"
CLEANUP_EVERY_SECONDS = 3600


def queue_idempotency_cleanup(redis, every_seconds: int = CLEANUP_EVERY_SECONDS) -> bool:
    """Queue `forget_expired_idempotency_keys` at most once every `every_seconds`; the
    worker calls this with its campaign check."""
    return queue_at_most_every(redis, CLEANUP_KEY, every_seconds, forget_expired_idempotency_keys)


def forget_expired_idempotency_keys() -> int:
    """Delete the keys older than API_IDEMPOTENCY_TTL_HOURS; returns how many."""
    config = Config.from_env()
    with session_scope() as session:
        return idempotency.purge_expired(session, timedelta(hours=config.api_idempotency_ttl_hours))
