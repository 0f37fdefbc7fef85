"""Count a four-condition segment over 1,000,000 customers on PostgreSQL and SQLite.

The segment: custom field plan = "pro", tag "vip", total spend above 100, opened a
campaign within 30 days (plus the built-in subscribed / not suppressed rules). Each
database is fresh (a temporary PostgreSQL database, a temporary SQLite file) with the
schema from the models. The custom field, the tags and the campaign are made by the
customers and campaigns services; the million customers with their field values, tags,
purchases and deliveries are bulk inserts (SQLAlchemy Core `insert(Model)` with the
models' columns and their defaults, so a schema change fails loudly here; the service
and the CSV import would take many minutes at this size). Then the count runs three
times and the median is reported.

    .venv/bin/python bench/segment_count.py [--customers N] [--postgres-url URL]
    .venv/bin/python bench/segment_count.py --quick    (2,000 customers, a few seconds)

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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.support import POSTGRES_URL, temporary_postgres_database  # noqa: E402
from helpdesk.campaigns import service as campaigns_service  # noqa: E402
from helpdesk.campaigns.models import Delivery, DeliveryState  # noqa: E402
from helpdesk.campaigns.segments import segment_customer_ids_query  # noqa: E402
from helpdesk.customers import service as customers_service  # noqa: E402
from helpdesk.customers.models import (  # noqa: E402
    Customer,
    CustomFieldValue,
    FieldType,
    Purchase,
    SubscriptionStatus,
    customer_tags,
)
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
# Customers per bulk insert: the rows of one chunk are made, written and dropped, so
# a million customers never sit in memory at once.
CHUNK = 20_000


@dataclass(frozen=True)
class ReferenceIds:
    plan_field: int
    vip_tag: int
    beta_tag: int
    campaign: int


def make_reference_rows(session: Session) -> ReferenceIds:
    """The custom field, the tags and the campaign the bulk rows point to, made as the
    product makes them."""
    plan = customers_service.create_custom_field(
        session,
        customers_service.CustomFieldData(key="plan", label="Plan", field_type=FieldType.text),
    )
    vip, beta = customers_service.tags_named(session, ["vip", "beta"])
    campaign = campaigns_service.create_campaign(
        session, campaigns_service.CampaignData(name="Bench"), user_id=None
    )
    session.commit()
    return ReferenceIds(plan.id, vip.id, beta.id, campaign.id)


def generate(customers: int, ids: ReferenceIds) -> Iterator[dict]:
    """Rows per model, a chunk of customers at a time; the same seed gives both databases
    the same data."""
    rng = random.Random(42)
    created = NOW - timedelta(days=800)
    order = 0
    for first in range(1, customers + 1, CHUNK):
        rows: dict = {
            Customer: [],
            CustomFieldValue: [],
            customer_tags: [],
            Purchase: [],
            Delivery: [],
        }
        for n in range(first, min(first + CHUNK, customers + 1)):
            email = f"c{n}@example.com"
            subscribed = rng.random() < 0.6
            rows[Customer].append(
                {
                    "id": n,
                    "email": email,
                    "name": f"Customer {n}",
                    "subscription_status": SubscriptionStatus.subscribed
                    if subscribed
                    else SubscriptionStatus.not_subscribed,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            plan = "pro" if rng.random() < 0.2 else "free"
            rows[CustomFieldValue].append(
                {"customer_id": n, "field_id": ids.plan_field, "text_value": plan}
            )
            if rng.random() < 0.2:
                rows[customer_tags].append({"customer_id": n, "tag_id": ids.vip_tag})
            if rng.random() < 0.1:
                rows[customer_tags].append({"customer_id": n, "tag_id": ids.beta_tag})
            for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
                order += 1
                purchased_at = NOW - timedelta(days=rng.randint(0, 700))
                rows[Purchase].append(
                    {
                        "customer_id": n,
                        "order_ref": f"o{order}",
                        "product": "Plan",
                        "amount": Decimal(rng.randint(5, 120)),
                        "currency": "USD",
                        "purchased_at": purchased_at,
                    }
                )
            if rng.random() < 0.5:
                sent = NOW - timedelta(days=rng.randint(1, 120))
                opened = sent + timedelta(hours=2) if rng.random() < 0.35 else None
                rows[Delivery].append(
                    {
                        "campaign_id": ids.campaign,
                        "customer_id": n,
                        "email": email,
                        "token": uuid.uuid4().hex,
                        "state": DeliveryState.sent,
                        "attempts": 1,
                        "sent_at": sent,
                        "first_opened_at": opened,
                    }
                )
        yield rows


def load(engine, customers: int, ids: ReferenceIds) -> dict[str, int]:
    counts: dict[str, int] = {}
    for chunk in generate(customers, ids):
        with engine.begin() as conn:
            for model, rows in chunk.items():
                if rows:
                    conn.execute(insert(model), rows)
                name = getattr(model, "__tablename__", None) or model.name
                counts[name] = counts.get(name, 0) + len(rows)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return counts


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


def bench(url: str, customers: int) -> float:
    engine = make_engine(url)
    metadata.create_all(engine)
    with Session(engine) as session:
        ids = make_reference_rows(session)
    started = time.perf_counter()
    counts = load(engine, customers, ids)
    sizes = ", ".join(f"{name} {count:,}" for name, count in counts.items())
    print(f"  loaded in {time.perf_counter() - started:.1f}s: {sizes}")
    seconds, _count = time_count(engine)
    engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--quick", action="store_true", help="2,000 customers")
    args = parser.parse_args()
    if args.quick:
        args.customers = 2_000

    with temporary_postgres_database("bench_segment", args.postgres_url) as url:
        print("PostgreSQL")
        postgres_s = bench(url, args.customers)

    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite")
        sqlite_s = bench(f"sqlite:///{tmp}/bench.db", args.customers)

    print(f"postgres_s={postgres_s:.3f} sqlite_s={sqlite_s:.3f}")


if __name__ == "__main__":
    main()
