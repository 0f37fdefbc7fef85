"""Benchmark: import a generated 100,000-row customer CSV on SQLite and on PostgreSQL.

    .venv/bin/python bench/import_customers.py [ROWS]
    .venv/bin/python bench/import_customers.py --quick    (500 rows, a few seconds)

Each database is fresh (a temporary SQLite file, a temporary PostgreSQL database that is
dropped at the end) and built from the models, as the tests build theirs; the custom
field the file fills is made by the customers service. The last line is
machine-readable: sqlite_rows_per_s=... postgres_rows_per_s=...

Besides wall time it prints the CPU seconds of this process and, for PostgreSQL, of the
server process that served the import (read from /proc, so PostgreSQL must run on this
machine for that figure): on a busy machine wall time mostly measures the other load,
while the CPU times show what the import itself costs.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import temporary_postgres_database  # noqa: E402
from helpdesk.customers import importer  # noqa: E402
from helpdesk.customers.models import Customer, FieldType  # noqa: E402
from helpdesk.customers.service import CustomFieldData, create_custom_field  # noqa: E402
from helpdesk.db import make_engine  # noqa: E402
from helpdesk.models import metadata  # noqa: E402

FAMILY = ["김", "이", "박", "최", "정", "강", "조", "윤"]
GIVEN = ["민준", "서연", "도윤", "지우", "하준", "서윤", "예준", "하은"]
ENGLISH = ["Alice Smith", "Bob Jones", "Carol White", "David Brown", "Eve Miller"]
DOMAINS = ["example.com", "example.co.kr", "mail.example.org", "shop.example.net"]
TAGS = ["vip", "서울", "newsletter", "b2b", "부산", "trial"]
STATUSES = ["subscribed", "unsubscribed", "not_subscribed", ""]


def generate_csv(rows: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "name", "phone", "company", "tags", "subscription_status", "tier"])
    for i in range(rows):
        korean = i % 2 == 0
        name = rng.choice(FAMILY) + rng.choice(GIVEN) if korean else rng.choice(ENGLISH)
        writer.writerow(
            [
                f"customer{i}@{rng.choice(DOMAINS)}",
                name,
                f"010-{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}",
                "주식회사 예시" if korean else "Example Ltd",
                ", ".join(rng.sample(TAGS, rng.randrange(0, 3))),
                rng.choice(STATUSES),
                rng.choice(["gold", "silver", "bronze"]),
            ]
        )
    return out.getvalue().encode("utf-8-sig")


def server_cpu_seconds(session: Session) -> float | None:
    """CPU time used so far by the PostgreSQL backend serving this session, if local."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_import(url: str, content: bytes) -> tuple[float, float, float | None]:
    """Wall-clock, this process's and the database server's CPU seconds for plan + apply."""
    engine = make_engine(url)
    metadata.create_all(engine)
    try:
        with Session(engine) as session:
            create_custom_field(
                session,
                CustomFieldData(
                    key="tier",
                    label="Tier",
                    field_type=FieldType.choice,
                    choices=["gold", "silver", "bronze"],
                ),
            )
            session.commit()
        with Session(engine) as session:
            server_started = server_cpu_seconds(session)
            started, cpu_started = time.perf_counter(), time.process_time()
            plan = importer.plan_import(session, "customers", content)
            importer.apply_plan(session, plan, after_batch=lambda _batch: session.commit())
            session.commit()
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            server_ended = server_cpu_seconds(session)
            server = None if server_started is None else server_ended - server_started
            imported = session.scalar(select(func.count()).select_from(Customer))
        if imported != plan.total_rows or plan.errors:
            raise SystemExit(f"expected {plan.total_rows} customers, found {imported}")
        return elapsed, cpu, server
    finally:
        engine.dispose()


def bench_sqlite(content: bytes, rows: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        elapsed, cpu, _server = run_import(f"sqlite:///{folder}/bench.db", content)
    report("sqlite", rows, elapsed, cpu)
    return rows / elapsed


def bench_postgres(content: bytes, rows: int) -> float:
    with temporary_postgres_database("bench_import") as url:
        elapsed, cpu, server = run_import(url, content)
    report("postgres", rows, elapsed, cpu, server)
    return rows / elapsed


def report(name: str, rows: int, elapsed: float, cpu: float, server: float | None = None) -> None:
    load = os.getloadavg()[0]
    server_cpu = "" if server is None else f", server CPU {server:.2f} s"
    print(
        f"{name}: {rows} rows in {elapsed:.2f} s = {rows / elapsed:,.0f} rows/s"
        f" (client CPU {cpu:.2f} s{server_cpu},"
        f" load average {load:.1f} on {os.cpu_count()} CPUs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, nargs="?", default=100_000)
    parser.add_argument("--quick", action="store_true", help="500 rows")
    args = parser.parse_args()
    rows = 500 if args.quick else args.rows
    content = generate_csv(rows)
    print(f"generated {rows} rows, {len(content) / 1024 / 1024:.1f} MB")
    sqlite_rate = bench_sqlite(content, rows)
    postgres_rate = bench_postgres(content, rows)
    print(f"sqlite_rows_per_s={sqlite_rate:.0f} postgres_rows_per_s={postgres_rate:.0f}")


if __name__ == "__main__":
    main()
