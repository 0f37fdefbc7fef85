"""The open pixel under load: gunicorn on loopback, 32 keep-alive connections for 10 s.

Makes a fresh SQLite database (or uses BENCH_DATABASE_URL) with a campaign sent to 5,000
customers: the customers by the CSV import, the campaign by the campaigns service, its
deliveries started and marked sent by the sending service's steps (no SMTP server). Then
it serves the app with gunicorn as `helpdesk run` does (helpdesk.cli.web_server_argv) and
hits the signed pixel URL from 32 threads, each with its own http.client keep-alive
connection, spread over the deliveries. Each request buffers its open in Redis; after the
timed run one `worker.py --burst` counts them, and the run fails unless every answered
request became exactly one open in the database (a request that failed on the client's
side, a timeout on an overloaded machine, may or may not have been counted).

    .venv/bin/python bench/tracking.py [--connections 32] [--seconds 10] [--workers 2] \
        [--threads 16] [--deliveries 5000]
    .venv/bin/python bench/tracking.py --quick    (200 deliveries, 8 connections for 1 s)

Redis: REDIS_URL when set (its database is flushed), else an embedded Redis started for
the run. The last line is machine-readable: rps=... p99_ms=...
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.support import (  # noqa: E402
    benchmark_redis,
    free_port,
    import_customers,
    make_campaign,
    send_without_smtp,
)
from helpdesk.campaigns.models import Delivery  # noqa: E402
from helpdesk.campaigns.tracking import tracking_urls  # noqa: E402
from helpdesk.cli import WEB_THREADS, WEB_WORKERS, web_server_argv  # noqa: E402
from helpdesk.db import make_engine, utcnow  # noqa: E402
from helpdesk.models import metadata  # noqa: E402

SECRET = "bench-secret"
# Seconds a request may take before it counts as failed: a slow answer is measured as
# one, since a failed request may still have counted its open.
REQUEST_TIMEOUT = 60
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"


def prepare(database_url: str, deliveries: int) -> list[str]:
    """A campaign sent an hour ago to `deliveries` subscribed customers; the pixel paths
    of all of them, since real opens are spread over recipients, not piled on one row."""
    engine = make_engine(database_url)
    metadata.create_all(engine)
    with Session(engine) as session:
        import_customers(
            session,
            [
                {
                    "email": f"reader{n}@example.com",
                    "name": "Reader",
                    "subscription_status": "subscribed",
                }
                for n in range(deliveries)
            ],
        )
        campaign_id = make_campaign(session, {}, name="Bench", subject="s", html_body="<p>x</p>")
        send_without_smtp(session, campaign_id, utcnow() - timedelta(hours=1))
        tokens = list(
            session.scalars(
                select(Delivery.token)
                .where(Delivery.campaign_id == campaign_id)
                .order_by(Delivery.id)
            )
        )
    engine.dispose()
    if len(tokens) != deliveries:
        raise SystemExit(f"{len(tokens)} deliveries made, not {deliveries}")
    return [urlsplit(tracking_urls("http://127.0.0.1", SECRET, t).open_url).path for t in tokens]


def wait_for(port: int, process: subprocess.Popen, log: Path) -> None:
    """Until the app answers a page: gunicorn listens before its workers have loaded it,
    which takes many seconds on a busy machine."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{log.read_text()[-2000:]}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request("GET", "/login")
            if connection.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            time.sleep(0.2)
        finally:
            connection.close()
    raise SystemExit("gunicorn did not start")


def load(port: int, paths: list[str], connections: int, seconds: float):
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    stop = time.perf_counter() + seconds

    def run(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        mine = latencies[index]
        n = index
        while time.perf_counter() < stop:
            started = time.perf_counter()
            n += connections
            try:
                path = paths[n % len(paths)]
                connection.request("GET", path, headers={"User-Agent": BROWSER})
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    errors[index] += 1
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
                continue
            mine.append(time.perf_counter() - started)
        connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    flat = sorted(x for per in latencies for x in per)
    return flat, sum(errors), elapsed


def count_opens(database_url: str, env: dict[str, str]) -> tuple[int, float]:
    """Run one burst worker over the flush jobs the requests queued; the opens counted."""
    started = time.perf_counter()
    worker = subprocess.run(
        [sys.executable, str(ROOT / "worker.py"), "--burst"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    elapsed = time.perf_counter() - started
    if worker.returncode != 0:
        raise SystemExit(f"worker failed:\n{worker.stderr.decode()[-2000:]}")
    engine = make_engine(database_url)
    with Session(engine) as session:
        counted = session.scalar(select(func.sum(Delivery.open_count))) or 0
    engine.dispose()
    return counted, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=WEB_WORKERS)
    parser.add_argument("--threads", type=int, default=WEB_THREADS)
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="200 deliveries, 8 connections, 1 s")
    args = parser.parse_args()
    if args.quick:
        args.deliveries, args.connections, args.seconds = 200, 8, 1
    with (
        tempfile.TemporaryDirectory(prefix="bench-tracking-") as tmp,
        benchmark_redis(tmp) as redis_url,
    ):
        database_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        paths = prepare(database_url, args.deliveries)
        port = free_port()
        env = dict(os.environ) | {
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
            "HELPDESK_INSTANCE": f"{tmp}/instance",
            "REDIS_URL": redis_url,
        }
        log = Path(tmp) / "gunicorn.log"
        argv = web_server_argv(
            f"127.0.0.1:{port}",
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
            workers=args.workers,
            threads=args.threads,
        )
        with log.open("wb") as log_file:
            server = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log_file
            )
            try:
                wait_for(port, server, log)
                warm_up, warm_up_errors, _ = load(port, paths, 4, 1.0)
                latencies, errors, elapsed = load(port, paths, args.connections, args.seconds)
            finally:
                server.terminate()
                server.wait(timeout=30)
        if not latencies:
            raise SystemExit(
                f"no successful requests ({errors} errors):\n{log.read_text()[-2000:]}"
            )
        answered = len(warm_up) + len(latencies)
        failed = warm_up_errors + errors
        counted, flush_seconds = count_opens(database_url, env)
        print(f"flush: {counted} opens counted by one worker in {flush_seconds:.1f} s", flush=True)
        if not answered <= counted <= answered + failed:
            raise SystemExit(
                f"{answered} pixels answered ({failed} requests failed) but {counted} opens counted"
            )
    rps = len(latencies) / elapsed
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    print(f"requests={len(latencies)} errors={errors} p50_ms={p50:.1f} seconds={elapsed:.1f}")
    print(f"rps={rps:.0f} p99_ms={p99:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
