"""Benchmark: the manager dashboard over a 90-day range with 100,000 tickets, 500,000
messages and 50 agents, on SQLite and PostgreSQL.

Run with `.venv/bin/python bench/dashboard.py [TICKETS]`. Each database is fresh (a
temporary SQLite file; a temporary PostgreSQL database dropped at the end), built with
`metadata.create_all` and filled with bulk inserts: a year of tickets with first
responses, resolutions, reopen events and SLA policies, FAQ views/votes/searches and ten
campaigns. Server time is measured around Flask test-client requests of a logged-in
manager for the whole dashboard page (every section). The last line is
machine-readable: the median page time on each database.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import temporary_postgres_database  # noqa: E402
from helpdesk import create_app  # noqa: E402
from helpdesk.auth import service as auth_service  # noqa: E402
from helpdesk.auth.models import User  # noqa: E402
from helpdesk.campaigns.models import Campaign, Delivery  # noqa: E402
from helpdesk.config import Config  # noqa: E402
from helpdesk.customers.models import Customer  # noqa: E402
from helpdesk.db import database, make_engine  # noqa: E402
from helpdesk.faq.models import Article, ArticleViewCount, ArticleVote, SearchCount  # noqa: E402  # noqa: E402
from helpdesk.mail.models import Mailbox  # noqa: E402
from helpdesk.models import metadata  # noqa: E402
from helpdesk.tickets.models import Message as TicketMessage  # noqa: E402
from helpdesk.tickets.models import SLAPolicy, Ticket  # noqa: E402

TICKETS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
MESSAGES_PER_TICKET = 5
AGENTS = 50
CUSTOMERS = 20_000
ARTICLES = 200
CAMPAIGNS = 10
DELIVERIES_PER_CAMPAIGN = 2_000
RANGE_DAYS = 90
SAMPLES = 15
# First-response targets in minutes; "low" has no policy, so the built-in four hours apply.
FIRST_RESPONSE_TARGETS = {"low": 240, "normal": 240, "high": 60, "urgent": 30}
WARMUP = 2
BATCH = 10_000
PASSWORD = "bench password 1"
MANAGER = "manager@helpdesk.test"
NOW = datetime.now(UTC).replace(microsecond=0)


def _users(password_hash: str) -> list[dict]:
    rows = [
        {
            "email": f"agent{i}@helpdesk.test",
            "name": f"Agent {i:02d}",
            "role": "agent",
            "is_manager": False,
        }
        for i in range(AGENTS)
    ]
    rows.append({"email": MANAGER, "name": "Manager", "role": "agent", "is_manager": True})
    return [
        row
        | {
            "password_hash": password_hash,
            "is_active": True,
            "is_available": True,
            "timezone": "Asia/Seoul",
            "created_at": NOW,
        }
        for row in rows
    ]


def _ticket_and_messages(rng: random.Random, ticket_id: int, agent_ids, mailbox_ids, first_id):
    created = NOW - timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
    roll = rng.random()
    status = (
        "new"
        if roll < 0.05
        else "open"
        if roll < 0.12
        else "waiting"
        if roll < 0.17
        else "resolved"
        if roll < 0.4
        else "closed"
    )
    active = status in ("new", "open", "waiting")
    if active:
        created = NOW - timedelta(minutes=rng.randrange(0, 14 * 24 * 60))
    assignee = None if active and rng.random() < 0.3 else rng.choice(agent_ids)
    first_response = None
    if status != "new":
        first_response = created + timedelta(minutes=rng.expovariate(1 / 180))
    resolved = closed = None
    if not active:
        resolved = (first_response or created) + timedelta(minutes=rng.expovariate(1 / 1440))
        closed = resolved + timedelta(days=2) if status == "closed" else None
    customer_last = status in ("new", "open")
    priority = rng.choice(["low", "normal", "normal", "normal", "high", "urgent"])
    ticket = {
        "id": ticket_id,
        "subject": f"Order {ticket_id}",
        "status": status,
        "priority": priority,
        "mailbox_id": rng.choice(mailbox_ids),
        "customer_id": rng.randrange(1, CUSTOMERS + 1),
        "assignee_id": assignee,
        "version": 1,
        "created_at": created,
        "updated_at": resolved or first_response or created,
        "last_customer_message_at": created,
        "first_response_at": first_response,
        "resolved_at": resolved,
        "closed_at": closed,
        "customer_replied_last": customer_last,
        "response_due_at": created + timedelta(hours=4) if customer_last else None,
        # The policies below, in wall-clock time (no mailbox here keeps business hours).
        "first_response_due_at": created + timedelta(minutes=FIRST_RESPONSE_TARGETS[priority]),
    }
    messages = []
    end = min(resolved or NOW, NOW)
    step = (end - created) / MESSAGES_PER_TICKET
    reopened = not active and rng.random() < 0.08
    for n in range(MESSAGES_PER_TICKET):
        at = created + step * n
        if n == 1 and first_response is not None:
            at = first_response
        kind = "customer" if n % 2 == 0 else "reply"
        body = "Hello, where is my parcel?" if kind == "customer" else "It ships today."
        if n == 4 and reopened:
            kind, body = "event", "Reopened by a customer reply (was resolved)."
        messages.append(
            {
                "id": first_id + n,
                "ticket_id": ticket_id,
                "kind": kind,
                "author_id": assignee if kind == "reply" else None,
                "from_email": "",
                "subject": "",
                "body_text": body,
                "created_at": at,
            }
        )
    return ticket, messages


def fill(url: str, seed: int = 7) -> float:
    rng = random.Random(seed)
    engine = make_engine(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(User.__table__.insert(), _users(auth_service.hash_password(PASSWORD)))
        agent_ids = [
            row[0] for row in conn.execute(text("SELECT id FROM users WHERE is_manager = false"))
        ]
        conn.execute(
            Mailbox.__table__.insert(),
            [
                {"name": name, "address": f"{name.lower()}@helpdesk.test", "created_at": NOW}
                for name in ("Support", "Sales", "Billing")
            ],
        )
        mailbox_ids = [row[0] for row in conn.execute(text("SELECT id FROM mailboxes"))]
        conn.execute(
            SLAPolicy.__table__.insert(),
            [
                {
                    "mailbox_id": mailbox,
                    "priority": priority,
                    "first_response_minutes": minutes,
                    "next_response_minutes": minutes * 4,
                }
                for mailbox in (None, mailbox_ids[0])
                for priority, minutes in FIRST_RESPONSE_TARGETS.items()
                if priority != "low"
            ],
        )
        customers = [
            {"email": f"customer{i}@example.com", "name": f"Customer {i}", "created_at": NOW}
            for i in range(CUSTOMERS)
        ]
        for start in range(0, len(customers), BATCH):
            conn.execute(Customer.__table__.insert(), customers[start : start + BATCH])
    message_id = 1
    for start in range(0, TICKETS, BATCH):
        tickets, messages = [], []
        for ticket_id in range(start + 1, min(start + BATCH, TICKETS) + 1):
            ticket, rows = _ticket_and_messages(rng, ticket_id, agent_ids, mailbox_ids, message_id)
            message_id += len(rows)
            tickets.append(ticket)
            messages.extend(rows)
        with engine.begin() as conn:
            conn.execute(Ticket.__table__.insert(), tickets)
            conn.execute(TicketMessage.__table__.insert(), messages)
    _fill_faq_and_campaigns(engine, rng)
    engine.dispose()
    return time.perf_counter() - started


def _fill_faq_and_campaigns(engine, rng: random.Random) -> None:
    hours = [NOW.replace(minute=0, second=0) - timedelta(hours=h) for h in range(24 * 365)]
    with engine.begin() as conn:
        conn.execute(
            Article.__table__.insert(),
            [
                {
                    "id": i,
                    "title": f"Article {i}",
                    "slug": f"article-{i}",
                    "language": "en",
                    "status": "published",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i in range(1, ARTICLES + 1)
            ],
        )
        views = {}
        for _ in range(100_000):
            key = (rng.randrange(1, ARTICLES + 1), rng.choice(hours))
            views[key] = views.get(key, 0) + 1
        conn.execute(
            ArticleViewCount.__table__.insert(),
            [{"article_id": a, "hour": h, "views": n} for (a, h), n in views.items()],
        )
        conn.execute(
            ArticleVote.__table__.insert(),
            [
                {
                    "article_id": rng.randrange(1, ARTICLES + 1),
                    "visitor_id": f"visitor{i}",
                    "helpful": rng.random() < 0.7,
                    "created_at": rng.choice(hours),
                }
                for i in range(20_000)
            ],
        )
        searches = {}
        for _ in range(30_000):
            key = (f"query {rng.randrange(0, 3000)}", rng.choice(hours))
            searches[key] = searches.get(key, 0) + 1
        conn.execute(
            SearchCount.__table__.insert(),
            [
                {"query": q, "hour": h, "searches": n, "empty_searches": n if q[-1] in "07" else 0}
                for (q, h), n in searches.items()
            ],
        )
        conn.execute(
            Campaign.__table__.insert(),
            [
                {
                    "id": c,
                    "name": f"Newsletter {c}",
                    "status": "sent",
                    "started_at": NOW - timedelta(days=30 * (CAMPAIGNS - c)),
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for c in range(1, CAMPAIGNS + 1)
            ],
        )
        conn.execute(
            Delivery.__table__.insert(),
            [
                {
                    "campaign_id": c,
                    "customer_id": i + 1,
                    "email": f"customer{i}@example.com",
                    "token": uuid.uuid4().hex,
                    "state": "sent",
                    "sent_at": NOW,
                    "open_count": 1 if rng.random() < 0.3 else 0,
                    "first_clicked_at": NOW if rng.random() < 0.05 else None,
                    "bounce_kind": "hard" if rng.random() < 0.01 else "",
                }
                for c in range(1, CAMPAIGNS + 1)
                for i in range(DELIVERIES_PER_CAMPAIGN)
            ],
        )


def _config(url: str) -> Config:
    return Config(
        instance_path=Path(tempfile.mkdtemp(prefix="bench-dashboard-")),
        database_url=url,
        secret_key="bench",
        redis_url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"),
        smtp_url="smtp://127.0.0.1:1",
        testing=True,
        csrf_enabled=False,
    )


def measure(url: str, label: str) -> float:
    app = create_app(_config(url))
    client = app.test_client()
    response = client.post("/login", data={"email": MANAGER, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    today = NOW.date()
    first = today - timedelta(days=RANGE_DAYS - 1)
    paths = {
        "dashboard 90 days": f"/dashboard?from={first}&to={today}",
        "dashboard 90 days, one mailbox": f"/dashboard?from={first}&to={today}&mailbox=1",
        "now fragment": "/dashboard/now",
    }
    result = 0.0
    for name, path in paths.items():
        samples = []
        for i in range(WARMUP + SAMPLES):
            started = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{label} {path}: HTTP {response.status_code}")
            if i >= WARMUP:
                samples.append(elapsed)
        median = statistics.median(samples)
        if name == "dashboard 90 days":
            result = median
        print(
            f"  {label:9} {name:32} median={median:7.1f} ms  max={max(samples):7.1f} ms "
            f"(n={len(samples)})"
        )
    database.engine.dispose()
    return result


def run_sqlite() -> float:
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        url = f"sqlite:///{tmp}/dashboard.db"
        engine = make_engine(url)
        metadata.create_all(engine)
        # The ticket search documents are not read by the dashboard; skipping their
        # triggers keeps the load short.
        with engine.begin() as conn:
            for trigger in ("ticket_search_insert", "ticket_search_message"):
                conn.exec_driver_sql(f"DROP TRIGGER {trigger}")
        engine.dispose()
        seconds = fill(url)
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        engine.dispose()
        print(f"SQLite: filled in {seconds:.0f} s")
        return measure(url, "sqlite")


def run_postgres() -> float:
    with temporary_postgres_database("bench_dashboard") as url:
        engine = make_engine(url)
        metadata.create_all(engine)
        # Trigram search indexes are not read by the dashboard and slow the load.
        for table in (Ticket.__table__, TicketMessage.__table__):
            for index in table.indexes:
                if index.name.endswith("_trgm"):
                    index.drop(engine)
        engine.dispose()
        seconds = fill(url)
        engine = make_engine(url)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        engine.dispose()
        print(f"PostgreSQL: filled in {seconds:.0f} s")
        return measure(url, "postgres")


def main() -> None:
    create_app(_config("sqlite://"))
    print(
        f"{TICKETS:,} tickets, {TICKETS * MESSAGES_PER_TICKET:,} messages, {AGENTS} agents; "
        f"dashboard for the last {RANGE_DAYS} days; {SAMPLES} samples after {WARMUP} warm-up"
    )
    sqlite_ms = run_sqlite()
    postgres_ms = run_postgres()
    print(f"sqlite_ms={sqlite_ms:.1f} postgres_ms={postgres_ms:.1f}")


if __name__ == "__main__":
    main()
