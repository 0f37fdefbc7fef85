"""How fast 2 forking worker.py processes deliver webhooks to a local receiver, on
PostgreSQL: events recorded in one transaction (as a bulk path records them), fanned out
to one endpoint, signed (Standard Webhooks) and posted, each answered 200.

    .venv/bin/python bench/webhooks.py [--events 10000] [--workers 2]
    .venv/bin/python bench/webhooks.py --quick    (300 events)

The time runs from the commit of the events until the receiver has every one and the
database holds every delivery as succeeded. Last line: `webhooks_per_s=...`.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import benchmark_redis, temporary_postgres_database  # noqa: E402
from helpdesk.config import Config  # noqa: E402
from helpdesk.db import database, make_engine  # noqa: E402
from helpdesk.events.service import Subject, record_events  # noqa: E402
from helpdesk.models import metadata  # noqa: E402
from helpdesk.webhooks import jobs, service  # noqa: E402
from helpdesk.webhooks.models import DeliveryState, WebhookDelivery  # noqa: E402
from tests.webhooks.receiver import Receiver  # noqa: E402


def start_workers(count: int, env: dict[str, str], log_path: str) -> list[subprocess.Popen]:
    """Workers as production runs them, listening before the events are recorded."""
    with open(log_path, "ab") as log:
        workers = [
            subprocess.Popen(
                [sys.executable, str(ROOT / "worker.py")],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            for _ in range(count)
        ]
    deadline = time.monotonic() + 60
    while Path(log_path).read_text(errors="replace").count("*** Listening on") < count:
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            stop_workers(workers)
            raise SystemExit(f"workers did not start:\n{_tail(log_path)}")
        time.sleep(0.1)
    return workers


def _tail(log_path: str) -> str:
    return Path(log_path).read_text(errors="replace")[-3000:]


def stop_workers(workers: list[subprocess.Popen], log_path: str | None = None) -> None:
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    stuck = []
    for worker in workers:
        try:
            worker.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            stuck.append(worker)
    for worker in stuck:
        # Not left running after the benchmark; the log says where it hung.
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    if stuck:
        tail = _tail(log_path) if log_path else ""
        raise SystemExit(f"{len(stuck)} worker(s) did not stop within 60 s:\n{tail}")


def succeeded(session) -> int:
    session.rollback()
    return session.scalar(
        select(func.count()).where(WebhookDelivery.state == DeliveryState.succeeded)
    )


def deliver(database_url: str, env: dict[str, str], args, tmp: str) -> float:
    engine = make_engine(database_url)
    metadata.create_all(engine)
    engine.dispose()
    env = env | {"DATABASE_URL": database_url}
    config = Config.from_env(env)
    database.configure(database_url)
    log_path = f"{tmp}/workers.log"
    with Receiver() as receiver, database.session() as session:
        service.create_endpoint(
            session,
            service.EndpointData(receiver.url, "bench", ["customer.created"]),
            allow_private=True,
        )
        session.commit()
        workers = start_workers(args.workers, env, log_path)
        try:
            record_events(
                session,
                "customer.created",
                [(Subject("customer", n), {"customer_id": n}) for n in range(args.events)],
            )
            started = time.perf_counter()
            session.commit()
            jobs.queue_dispatch(config)
            deadline = time.monotonic() + 600
            while len(receiver.received) < args.events or succeeded(session) < args.events:
                if any(worker.poll() is not None for worker in workers):
                    raise SystemExit(f"a worker died:\n{_tail(log_path)}")
                if time.monotonic() > deadline:
                    raise SystemExit(f"not delivered in time:\n{_tail(log_path)}")
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
        finally:
            stop_workers(workers, log_path)
            database.engine.dispose()
        distinct = len(set(receiver.ids()))
    if distinct != args.events:
        raise SystemExit(f"{distinct} distinct events received of {args.events}")
    print(f"  {args.events} delivered in {elapsed:.1f} s", flush=True)
    return args.events / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="a few hundred events")
    args = parser.parse_args()
    if args.quick:
        args.events = 300
    with (
        tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp,
        benchmark_redis(tmp) as redis,
    ):
        env = dict(os.environ) | {
            "REDIS_URL": redis,
            "SECRET_KEY": "bench-secret",
            "HELPDESK_INSTANCE": f"{tmp}/instance",
            "WEBHOOKS_ALLOW_PRIVATE": "1",
            "WEBHOOKS_CONCURRENCY": str(args.workers),
        }
        print(f"{args.workers} workers; {args.events} events; PostgreSQL", flush=True)
        with temporary_postgres_database("bench_webhooks") as postgres_url:
            rate = deliver(postgres_url, env, args, tmp)
    print(f"webhooks_per_s={rate:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
