"""What the benchmarks share: a throwaway PostgreSQL database on the local server, and a
Redis (the embedded one unless REDIS_URL names another)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis import Redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from helpdesk import embedded_redis

POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def temporary_postgres_database(prefix: str, server_url: str = POSTGRES_URL) -> Iterator[str]:
    """A new, empty database on the server of `server_url`; yields its URL and drops it
    afterwards (connections still open to it included)."""
    admin_url = make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def benchmark_redis(tmp_dir: str) -> Iterator[str]:
    """REDIS_URL when set (its database is flushed: give the benchmark one nothing else
    uses), else the embedded Redis `helpdesk run` uses, started in `tmp_dir` for the run."""
    url = os.environ.get("REDIS_URL")
    if url:
        Redis.from_url(url).flushdb()
        yield url
        return
    socket_path = Path(tmp_dir) / "redis.sock"
    process = embedded_redis.start(Path(tmp_dir), socket_path)
    try:
        yield f"unix://{socket_path}"
    finally:
        process.terminate()
        process.wait()
