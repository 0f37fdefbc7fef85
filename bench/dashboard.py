"""Benchmark: the manager dashboard over a 90-day range with 100,000 tickets, 500,000
messages and 50 agents, on SQLite and PostgreSQL.

    .venv/bin/python bench/dashboard.py [TICKETS]
    .venv/bin/python bench/dashboard.py --quick    (300 tickets, a few seconds)

Each database is fresh (a temporary SQLite file; a temporary PostgreSQL database dropped
at the end) with the schema from the models. What the product makes in bulk or cheaply
is made by its services: agents (users service), mailboxes (mail service), SLA policies
(tickets.sla), 20,000 customers (the CSV import), 200 FAQ articles (FAQ service) and ten
campaigns (campaigns service), each started, marked sent and then opened and clicked by
the sending and tracking services' own steps. A year of history is bulk inserts with
SQLAlchemy Core `insert(Model)` (the models' columns and defaults, so a schema change
fails loudly here): tickets with first responses, resolutions and reopen events, their
messages, hourly FAQ view and search counts, votes, and the campaigns' bounces. Server
time is measured around Flask test-client requests of a logged-in manager for the whole
dashboard page (every section). Redis: REDIS_URL when set (its database is flushed), else
an embedded Redis started for the run. The last line is machine-readable: the median
page time on each database, sqlite_ms=... postgres_ms=...
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import (  # noqa: E402
    benchmark_redis,
    cheap_password_hashing,
    import_customers,
    make_agents,
    make_campaign,
    make_mailboxes,
    page_times,
    send_without_smtp,
    temporary_postgres_database,
    web_config,
)
from helpdesk import create_app  # noqa: E402
from helpdesk.auth import service as auth_service  # noqa: E402
from helpdesk.campaigns.models import Delivery  # noqa: E402
from helpdesk.campaigns.tracking_events import apply_events, click_event, open_event  # noqa: E402
from helpdesk.db import database, make_engine  # noqa: E402
from helpdesk.faq import service as faq_service  # noqa: E402
from helpdesk.faq.models import ArticleViewCount, ArticleVote, SearchCount  # noqa: E402
from helpdesk.models import metadata  # noqa: E402
from helpdesk.tickets import sla  # noqa: E402
from helpdesk.tickets.models import Message as TicketMessage  # noqa: E402
from helpdesk.tickets.models import Priority, Ticket  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    tickets: int = 100_000
    agents: int = 50
    customers: int = 20_000
    articles: int = 200
    article_views: int = 100_000
    votes: int = 20_000
    searches: int = 30_000
    campaigns: int = 10
    deliveries_per_campaign: int = 2_000
    samples: int = 15
    warmup: int = 2


QUICK = Sizes(
    tickets=300,
    agents=5,
    customers=300,
    articles=10,
    article_views=1_000,
    votes=200,
    searches=300,
    campaigns=2,
    deliveries_per_campaign=100,
    samples=3,
    warmup=1,
)
MESSAGES_PER_TICKET = 5
RANGE_DAYS = 90
# First-response targets in minutes; "low" has no policy, so the built-in four hours apply.
FIRST_RESPONSE_TARGETS = {"low": 240, "normal": 240, "high": 60, "urgent": 30}
BATCH = 10_000
PASSWORD = "bench password 1"
MANAGER = "manager@helpdesk.example"
NOW = datetime.now(UTC).replace(microsecond=0)
NEWSLETTER_READERS = {
    "match": "all",
    "groups": [
        {"match": "all", "conditions": [{"field": "tag", "op": "has", "value": "newsletter"}]}
    ],
}
NEWSLETTER = '<p>New this month.</p><p><a href="https://shop.example/sale">The sale</a></p>'
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"


def _ticket_and_messages(
    rng: random.Random, ticket_id: int, agent_ids, mailbox_ids, customer_ids, first_id
):
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
        "customer_id": rng.choice(customer_ids),
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


def fill(url: str, sizes: Sizes, seed: int = 7) -> float:
    rng = random.Random(seed)
    engine = make_engine(url)
    started = time.perf_counter()
    with Session(engine) as session:
        agent_ids = make_agents(session, sizes.agents, PASSWORD)
        auth_service.create_user(
            session,
            email=MANAGER,
            name="Manager",
            password=PASSWORD,
            role="agent",
            is_manager=True,
            timezone="Asia/Seoul",
        )
        mailbox_ids = make_mailboxes(session, ("Support", "Sales", "Billing"))
        targets = {
            Priority(priority): sla.Targets(minutes, minutes * 4)
            for priority, minutes in FIRST_RESPONSE_TARGETS.items()
            if priority != "low"
        }
        for mailbox in (None, mailbox_ids[0]):
            sla.save_policies(session, mailbox, targets, None, NOW)
        session.commit()
        ids_by_email = import_customers(
            session,
            [
                {
                    "email": f"customer{i}@example.com",
                    "name": f"Customer {i}",
                    "subscription_status": "subscribed",
                    "tags": "newsletter" if i < sizes.deliveries_per_campaign else "",
                }
                for i in range(sizes.customers)
            ],
        )
    customer_ids = [ids_by_email[f"customer{i}@example.com"] for i in range(sizes.customers)]
    message_id = 1
    for start in range(0, sizes.tickets, BATCH):
        tickets, messages = [], []
        for ticket_id in range(start + 1, min(start + BATCH, sizes.tickets) + 1):
            ticket, rows = _ticket_and_messages(
                rng, ticket_id, agent_ids, mailbox_ids, customer_ids, message_id
            )
            message_id += len(rows)
            tickets.append(ticket)
            messages.extend(rows)
        with engine.begin() as conn:
            conn.execute(insert(Ticket), tickets)
            conn.execute(insert(TicketMessage), messages)
    with Session(engine) as session:
        _fill_faq(session, rng, sizes)
        _fill_campaigns(session, rng, sizes)
    engine.dispose()
    return time.perf_counter() - started


def _fill_faq(session: Session, rng: random.Random, sizes: Sizes) -> None:
    article_ids = [
        faq_service.create_article(
            session,
            faq_service.ArticleData(
                title=f"Article {i}",
                body=f"What to know about topic {i}.",
                language="en",
                status="published",
            ),
            None,
        ).id
        for i in range(1, sizes.articles + 1)
    ]
    session.commit()
    hours = [NOW.replace(minute=0, second=0) - timedelta(hours=h) for h in range(24 * 365)]
    views = {}
    for _ in range(sizes.article_views):
        key = (rng.choice(article_ids), rng.choice(hours))
        views[key] = views.get(key, 0) + 1
    session.execute(
        insert(ArticleViewCount),
        [{"article_id": a, "hour": h, "views": n} for (a, h), n in views.items()],
    )
    session.execute(
        insert(ArticleVote),
        [
            {
                "article_id": rng.choice(article_ids),
                "visitor_id": f"visitor{i}",
                "helpful": rng.random() < 0.7,
                "created_at": rng.choice(hours),
            }
            for i in range(sizes.votes)
        ],
    )
    searches = {}
    for _ in range(sizes.searches):
        key = (f"query {rng.randrange(0, 3000)}", rng.choice(hours))
        searches[key] = searches.get(key, 0) + 1
    session.execute(
        insert(SearchCount),
        [
            {"query": q, "hour": h, "searches": n, "empty_searches": n if q[-1] in "07" else 0}
            for (q, h), n in searches.items()
        ],
    )
    session.commit()


def _fill_campaigns(session: Session, rng: random.Random, sizes: Sizes) -> None:
    """Monthly newsletters to the first customers: about 30% opened, 5% clicked (events
    counted by the tracking flush's own function) and 1% hard bounces."""
    for number in range(1, sizes.campaigns + 1):
        campaign_id = make_campaign(
            session,
            NEWSLETTER_READERS,
            name=f"Newsletter {number}",
            subject="News",
            from_email="news@shop.example",
            html_body=NEWSLETTER,
        )
        sent_at = NOW - timedelta(days=30 * (sizes.campaigns - number))
        send_without_smtp(session, campaign_id, sent_at)
        deliveries = session.execute(
            select(Delivery.id, Delivery.token)
            .where(Delivery.campaign_id == campaign_id)
            .order_by(Delivery.customer_id)
        ).all()
        events, bounced = [], []
        read_at = sent_at + timedelta(hours=2)
        for delivery_id, token in deliveries:
            if rng.random() < 0.3:
                events.append(open_event(token, read_at, BROWSER, "203.0.113.7"))
            if rng.random() < 0.05:
                events.append(click_event(token, 0, read_at, BROWSER))
            if rng.random() < 0.01:
                bounced.append(delivery_id)
        apply_events(session, None, events, machine_window_s=10)
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(bounced))
            .values(bounce_kind="hard", bounced_at=sent_at)
        )
        session.commit()


def measure(url: str, label: str, sizes: Sizes, redis_url: str, instance: Path) -> float:
    app = create_app(web_config(url, redis_url, instance))
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
        samples = page_times(client, lambda path=path: path, sizes.warmup, sizes.samples)
        median = statistics.median(samples)
        if name == "dashboard 90 days":
            result = median
        print(
            f"  {label:9} {name:32} median={median:7.1f} ms  max={max(samples):7.1f} ms "
            f"(n={len(samples)})"
        )
    database.engine.dispose()
    return result


def run_sqlite(sizes: Sizes, redis_url: str, tmp: Path) -> float:
    url = f"sqlite:///{tmp}/dashboard.db"
    engine = make_engine(url)
    metadata.create_all(engine)
    # The ticket search documents are not read by the dashboard; skipping their
    # triggers keeps the load short.
    with engine.begin() as conn:
        for trigger in ("ticket_search_insert", "ticket_search_message"):
            conn.exec_driver_sql(f"DROP TRIGGER {trigger}")
    engine.dispose()
    seconds = fill(url, sizes)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    print(f"SQLite: filled in {seconds:.0f} s")
    return measure(url, "sqlite", sizes, redis_url, tmp / "sqlite-instance")


def run_postgres(sizes: Sizes, redis_url: str, tmp: Path) -> float:
    with temporary_postgres_database("bench_dashboard") as url:
        engine = make_engine(url)
        metadata.create_all(engine)
        # Trigram search indexes are not read by the dashboard and slow the load.
        for table in (Ticket.__table__, TicketMessage.__table__):
            for index in table.indexes:
                if index.name.endswith("_trgm"):
                    index.drop(engine)
        engine.dispose()
        seconds = fill(url, sizes)
        engine = make_engine(url)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        engine.dispose()
        print(f"PostgreSQL: filled in {seconds:.0f} s")
        return measure(url, "postgres", sizes, redis_url, tmp / "postgres-instance")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tickets", type=int, nargs="?", default=Sizes.tickets)
    parser.add_argument("--quick", action="store_true", help="300 tickets, 3 samples")
    args = parser.parse_args()
    sizes = QUICK if args.quick else replace(Sizes(), tickets=args.tickets)
    cheap_password_hashing()
    with (
        tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp,
        benchmark_redis(tmp) as redis_url,
    ):
        # Import every feature now: the measured apps are built much later, after the load.
        create_app(web_config("sqlite://", redis_url, Path(tmp) / "instance"))
        print(
            f"{sizes.tickets:,} tickets, {sizes.tickets * MESSAGES_PER_TICKET:,} messages, "
            f"{sizes.agents} agents; dashboard for the last {RANGE_DAYS} days; "
            f"{sizes.samples} samples after {sizes.warmup} warm-up"
        )
        sqlite_ms = run_sqlite(sizes, redis_url, Path(tmp))
        postgres_ms = run_postgres(sizes, redis_url, Path(tmp))
    print(f"sqlite_ms={sqlite_ms:.1f} postgres_ms={postgres_ms:.1f}")


if __name__ == "__main__":
    main()
