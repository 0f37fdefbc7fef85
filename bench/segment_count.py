"""Count a four-condition segment over 1,000,000 customers on PostgreSQL and SQLite.

The segment: custom field plan = "pro", tag "vip", total spend above 100, opened a
campaign within 30 days (plus the built-in subscribed / not suppressed rules). Each
database is fresh (a temporary PostgreSQL database, a temporary SQLite file), the
schema comes from the models, the data is loaded in bulk (COPY on PostgreSQL,
executemany on SQLite), then the count runs three times and the median is reported.

    .venv/bin/python bench/segment_count.py [--customers N] [--postgres-url URL]

Ends with one line: postgres_s=... sqlite_s=...
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.support import POSTGRES_URL, temporary_postgres_database  # noqa: E402
from helpdesk.campaigns.segments import segment_customer_ids_query  # noqa: E402
from helpdesk.db import make_engine  # noqa: E402
from helpdesk.models import metadata  # noqa: E402

RULES = {
    "match": "all",
    "groups": [
        {
            "match": "all",
            "conditions": [
                {"field": "custom.plan", "op": "eq", "value": "pro"},
                {"field": "tag", "op": "has", "value": "vip"},
                {"field": "purchase.total", "op": "gt", "value": 100},
                {"field": "engagement.opened", "op": "within_days", "value": 30},
            ],
        }
    ],
}
NOW = datetime(2026, 6, 1, tzinfo=UTC)
RUNS = 3


def generate(customers: int):
    """Rows per table as tuples; the same seed gives both databases the same data."""
    rng = random.Random(42)
    created = NOW - timedelta(days=800)
    tables: dict[str, tuple[list[str], list[tuple]]] = {
        "customers": (
            [
                "id",
                "email",
                "name",
                "phone",
                "company",
                "subscription_status",
                "consent_source",
                "created_at",
                "updated_at",
            ],
            [],
        ),
        "custom_field_values": (["customer_id", "field_id", "text_value"], []),
        "customer_tags": (["customer_id", "tag_id"], []),
        "purchases": (
            [
                "id",
                "customer_id",
                "order_ref",
                "product",
                "quantity",
                "amount",
                "currency",
                "purchased_at",
                "created_at",
            ],
            [],
        ),
        "deliveries": (
            [
                "id",
                "campaign_id",
                "customer_id",
                "email",
                "token",
                "state",
                "attempts",
                "claimed_by",
                "last_error",
                "open_count",
                "machine_open_count",
                "click_count",
                "bounce_kind",
                "first_opened_at",
                "sent_at",
            ],
            [],
        ),
    }
    purchase_id = delivery_id = 0
    for n in range(1, customers + 1):
        status = "subscribed" if rng.random() < 0.6 else "not_subscribed"
        email = f"c{n}@example.com"
        tables["customers"][1].append(
            (n, email, f"Customer {n}", "", "", status, "", created, created)
        )
        plan = "pro" if rng.random() < 0.2 else "free"
        tables["custom_field_values"][1].append((n, 1, plan))
        if rng.random() < 0.2:
            tables["customer_tags"][1].append((n, 1))
        if rng.random() < 0.1:
            tables["customer_tags"][1].append((n, 2))
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            purchase_id += 1
            at = NOW - timedelta(days=rng.randint(0, 700))
            amount = f"{rng.randint(5, 120)}.00"
            tables["purchases"][1].append(
                (purchase_id, n, f"o{purchase_id}", "Plan", 1, amount, "USD", at, at)
            )
        if rng.random() < 0.5:
            delivery_id += 1
            sent = NOW - timedelta(days=rng.randint(1, 120))
            opened = sent + timedelta(hours=2) if rng.random() < 0.35 else None
            tables["deliveries"][1].append(
                (
                    delivery_id,
                    1,
                    n,
                    email,
                    uuid.uuid4().hex,
                    "sent",
                    1,
                    "",
                    "",
                    0,
                    0,
                    0,
                    "",
                    opened,
                    sent,
                )
            )
    return tables


def seed_reference_rows(session: Session) -> None:
    session.execute(
        text(
            "INSERT INTO custom_fields (id, key, label, field_type, choices, position, created_at)"
            " VALUES (1, 'plan', 'Plan', 'text', '[]', 0, :now)"
        ),
        {"now": NOW},
    )
    session.execute(text("INSERT INTO tags (id, name) VALUES (1, 'vip'), (2, 'beta')"))
    session.execute(
        text(
            "INSERT INTO campaigns (id, name, subject, from_name, from_email, reply_to,"
            " html_body, text_body, text_edited, status, pause_reason, consecutive_failures,"
            " total_recipients, created_at, updated_at) VALUES (1, 'Bench', '', '', '', '',"
            " '', '', false, 'sent', '', 0, 0, :now, :now)"
        ),
        {"now": NOW},
    )
    session.commit()


def load_postgres(engine, tables) -> None:
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor:
            for table, (columns, rows) in tables.items():
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        raw.commit()
        conn.execute(text("ANALYZE"))
        conn.commit()


def _sqlite_value(value):
    # SQLAlchemy's SQLite DateTime format, naive UTC as UTCDateTime stores it.
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def load_sqlite(engine, tables) -> None:
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        # The engine runs pysqlite without its implicit transactions; one explicit
        # transaction keeps the load from syncing after every row.
        raw.execute("BEGIN")
        for table, (columns, rows) in tables.items():
            placeholders = ", ".join("?" for _ in columns)
            converted = (tuple(_sqlite_value(v) for v in row) for row in rows)
            raw.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", converted
            )
        raw.commit()
        raw.execute("ANALYZE")
        raw.commit()


def time_count(engine) -> tuple[float, int]:
    timings, count = [], 0
    with Session(engine) as session:
        for _ in range(RUNS):
            started = time.perf_counter()
            ids = segment_customer_ids_query(session, RULES, now=NOW).subquery()
            count = session.scalar(select(func.count()).select_from(ids))
            timings.append(time.perf_counter() - started)
    print(f"  runs: {', '.join(f'{t:.3f}s' for t in timings)}; matching customers: {count}")
    return statistics.median(timings), count


def bench(url: str, loader, tables) -> float:
    engine = make_engine(url)
    metadata.create_all(engine)
    with Session(engine) as session:
        seed_reference_rows(session)
    started = time.perf_counter()
    loader(engine, tables)
    print(f"  loaded in {time.perf_counter() - started:.1f}s")
    seconds, _count = time_count(engine)
    engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument(
        "--postgres-url",
        default=POSTGRES_URL,
    )
    args = parser.parse_args()

    started = time.perf_counter()
    tables = generate(args.customers)
    sizes = ", ".join(f"{name} {len(rows):,}" for name, (_c, rows) in tables.items())
    print(f"generated in {time.perf_counter() - started:.1f}s: {sizes}")

    with temporary_postgres_database("bench_segment", args.postgres_url) as url:
        print("PostgreSQL")
        postgres_s = bench(url, load_postgres, tables)

    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite")
        sqlite_s = bench(f"sqlite:///{tmp}/bench.db", load_sqlite, tables)

    print(f"postgres_s={postgres_s:.3f} sqlite_s={sqlite_s:.3f}")


if __name__ == "__main__":
    main()
