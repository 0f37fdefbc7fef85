"""Redis and the RQ queues: views and services enqueue here, worker.py consumes."""

from __future__ import annotations

import logging
import threading

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from helpdesk.config import Config

# Separate queues so a 100,000-row import never delays a ticket reply.
MAIL_QUEUE = "mail"
DEFAULT_QUEUE = "default"
CAMPAIGN_QUEUE = "campaigns"
IMPORT_QUEUE = "imports"
QUEUE_NAMES = (MAIL_QUEUE, DEFAULT_QUEUE, CAMPAIGN_QUEUE, IMPORT_QUEUE)

log = logging.getLogger(__name__)

_connections: dict[str, Redis] = {}
_request_connections: dict[str, Redis] = {}


def redis_connection(config: Config) -> Redis:
    url = config.effective_redis_url
    if url not in _connections:
        _connections[url] = Redis.from_url(url)
    return _connections[url]


def request_redis_connection(config: Config) -> Redis:
    """For web requests that must answer even when Redis does not (the tracking pixel):
    short timeouts, so a stuck Redis costs a request a fraction of a second, not a hang."""
    url = config.effective_redis_url
    if url not in _request_connections:
        _request_connections[url] = Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
    return _request_connections[url]


def get_queue(config: Config, name: str = DEFAULT_QUEUE) -> Queue:
    return Queue(name, connection=redis_connection(config))


def enqueue(config: Config, queue_name: str, func, *args, **kwargs):
    return get_queue(config, queue_name).enqueue(func, *args, **kwargs)


def queue_at_most_every(redis: Redis, key: str, every_seconds: int, func) -> bool:
    """Queue `func` on the default queue unless it was queued in the last `every_seconds`
    (the Redis key is the marker; its expiry opens the next slot). The workers' periodic
    checks come through here; a Redis outage is logged and the check waits for the next
    call. Returns whether it was queued."""
    try:
        if not redis.set(key, "1", nx=True, ex=every_seconds):
            return False
        Queue(DEFAULT_QUEUE, connection=redis).enqueue(func)
        return True
    except RedisError:
        log.exception("could not queue %s", func.__name__)
        return False


# Set in a work horse when its worker is asked to stop (SIGTERM, Ctrl-C) or dies: a long
# job checks it between units of work, puts back what it has not started and ends early.
_stop = threading.Event()


def request_stop() -> None:
    _stop.set()


def stop_requested() -> bool:
    return _stop.is_set()
