"""The REST API under gunicorn on PostgreSQL: bulk purchase import and the customer list.

Makes a fresh PostgreSQL database (on BENCH_POSTGRES_URL's server) with 100,000 customers
(a tenth tagged "vip"), serves the app with gunicorn as `helpdesk run` does, and with a
service token:
- posts orders in batches of 1,000 to /api/v1/purchases/batch from 2 connections, each
  request with its own Idempotency-Key, and checks afterwards that every order is stored
  exactly once: purchases_per_s;
- pages through GET /api/v1/customers?tag=vip&limit=50 by cursor: customers_list_p95_ms.

    .venv/bin/python bench/api.py [--customers 100000] [--batches 20]
    .venv/bin/python bench/api.py --quick    (2,000 customers, 2 batches)

Redis: REDIS_URL when set (its database is flushed), else an embedded Redis started for
the run. The last line is machine-readable: purchases_per_s=... customers_list_p95_ms=...
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.support import (  # noqa: E402
    benchmark_redis,
    free_port,
    temporary_postgres_database,
)
from helpdesk.api import tokens  # noqa: E402
from helpdesk.api.models import TokenKind  # noqa: E402
from helpdesk.api.scopes import SCOPES  # noqa: E402
from helpdesk.auth.models import Role, User  # noqa: E402
from helpdesk.cli import web_server_argv  # noqa: E402
from helpdesk.customers.models import Customer, Purchase, Tag, customer_tags  # noqa: E402
from helpdesk.db import make_engine, utcnow  # noqa: E402
from helpdesk.models import metadata  # noqa: E402

BATCH = 1000
CONNECTIONS = 2


def prepare(database_url: str, customers: int) -> str:
    """The customers, inserted directly (the benchmark measures the API, not the import),
    and a service token; returns the token."""
    engine = make_engine(database_url)
    metadata.create_all(engine)
    now = utcnow()
    with Session(engine) as session:
        for start in range(0, customers, 10_000):
            session.execute(
                insert(Customer),
                [
                    {
                        "email": f"c{n}@example.com",
                        "name": f"Customer {n}",
                        "given_name": "Customer",
                        "family_name": str(n),
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in range(start, min(start + 10_000, customers))
                ],
            )
        tag_id = session.scalar(insert(Tag).values(name="vip").returning(Tag.id))
        ids = session.scalars(select(Customer.id).where(Customer.id % 10 == 0)).all()
        session.execute(insert(customer_tags), [{"customer_id": i, "tag_id": tag_id} for i in ids])
        admin = User(email="admin@example.com", name="Admin", password_hash="-", role=Role.admin)
        session.add(admin)
        session.flush()
        new = tokens.create_token(
            session,
            kind=TokenKind.service,
            name="bench",
            scopes=SCOPES,
            created_by=admin,
            expires_in_days=None,
            rate_limit=10_000_000,
        )
        session.commit()
    # Statistics, as autovacuum would have them for tables filled over time; right after
    # a bulk insert the planner would guess.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return new.secret


def serve(database_url: str, redis_url: str, tmp: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "bench",
        "HELPDESK_INSTANCE": str(tmp),
    }
    log = open(tmp / "gunicorn.log", "w")  # noqa: SIM115 (lives as long as the server)
    process = subprocess.Popen(
        web_server_argv(f"127.0.0.1:{port}", workers=2, threads=4),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}/api/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{(tmp / 'gunicorn.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/openapi.json").status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def orders(batch: int, customers: int) -> list[dict]:
    return [
        {
            "order_id": f"B{batch}-{n}",
            "customer_email": f"c{(batch * BATCH + n) % customers}@example.com",
            "product": "Green tea",
            "quantity": 1 + n % 3,
            "amount": f"{10 + n % 90}.50",
            "currency": "KRW",
            "purchased_at": "2026-11-20T08:00:00Z",
        }
        for n in range(BATCH)
    ]


def import_purchases(url: str, secret: str, batches: int, customers: int) -> float:
    bodies = [{"source": "shop", "orders": orders(b, customers)} for b in range(batches)]
    errors: list[str] = []

    def send(mine: list[int]) -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            for b in mine:
                response = client.post(
                    "/purchases/batch",
                    json=bodies[b],
                    headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": f"b{b}"},
                )
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:300]}")

    threads = [
        threading.Thread(target=send, args=(list(range(i, batches, CONNECTIONS)),))
        for i in range(CONNECTIONS)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"the import failed: {errors[:3]}")
    return batches * BATCH / elapsed


def list_times(url: str, secret: str, requests: int) -> list[float]:
    times = []
    cursor = None
    with httpx.Client(base_url=url, timeout=60) as client:
        client.get("/customers", params={"limit": 1}, headers={"Authorization": f"Bearer {secret}"})
        for _ in range(requests):
            params = {"tag": "vip", "limit": 50} | ({"cursor": cursor} if cursor else {})
            started = time.perf_counter()
            response = client.get(
                "/customers", params=params, headers={"Authorization": f"Bearer {secret}"}
            )
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"the list failed: {response.status_code} {response.text[:300]}")
            cursor = response.json()["next_cursor"]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--list-requests", type=int, default=200)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.customers, args.batches, args.list_requests = 2000, 2, 20
    with (
        tempfile.TemporaryDirectory() as tmp,
        benchmark_redis(tmp) as redis_url,
        temporary_postgres_database("bench_api") as database_url,
    ):
        secret = prepare(database_url, args.customers)
        process, url = serve(database_url, redis_url, Path(tmp))
        try:
            per_second = import_purchases(url, secret, args.batches, args.customers)
            times = list_times(url, secret, args.list_requests)
        finally:
            process.terminate()
            process.wait(timeout=30)
        engine = make_engine(database_url)
        with Session(engine) as session:
            stored = session.scalar(select(func.count()).select_from(Purchase))
        engine.dispose()
        if stored != args.batches * BATCH:
            raise SystemExit(f"{stored} purchases stored for {args.batches * BATCH} orders")
    p95 = statistics.quantiles(times, n=20)[-1]
    print(f"{args.batches * BATCH} orders, {args.customers} customers, {len(times)} list pages")
    print(f"purchases_per_s={per_second:.0f} customers_list_p95_ms={p95:.1f}")


if __name__ == "__main__":
    main()
