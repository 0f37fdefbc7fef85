"""Benchmark: the agents' queues and a ticket page with 100,000 tickets and 500,000 messages.

    .venv/bin/python bench/inbox.py [TICKETS]
    .venv/bin/python bench/inbox.py --quick    (2,000 tickets, a few seconds)

Each database is fresh (a temporary SQLite file; a temporary PostgreSQL database dropped
at the end) with the schema from the models. The agents (users service), the mailboxes
(mail service) and 20,000 customers with Korean and English names (the CSV import) are
made by the product; the year of tickets and their mixed Korean/English messages are bulk
inserts with SQLAlchemy Core `insert(Model)` (the models' columns and defaults, so a
schema change fails loudly here), since ingesting half a million messages would take
hours. Server time is measured around Flask test-client requests of a logged-in agent.
Redis: REDIS_URL when set (its database is flushed), else an embedded Redis started for
the run. The last line is machine-readable: the worst view's p95 on each database,
sqlite_p95_ms=... postgres_p95_ms=...
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

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import (  # noqa: E402
    benchmark_redis,
    cheap_password_hashing,
    import_customers,
    make_agents,
    make_mailboxes,
    page_times,
    temporary_postgres_database,
    web_config,
)
from helpdesk import create_app  # noqa: E402
from helpdesk.db import database, make_engine  # noqa: E402
from helpdesk.models import metadata  # noqa: E402
from helpdesk.tickets.models import SEARCH_DDL, SEARCH_TEXT_END, Message, Ticket  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    tickets: int = 100_000
    agents: int = 20
    customers: int = 20_000
    samples: int = 40
    warmup: int = 3


# Enough messages that every searched term occurs (the rare mould one in every 997th).
QUICK = Sizes(tickets=2_000, agents=5, customers=2_000, samples=2, warmup=1)
MESSAGES_PER_TICKET = 5
BATCH = 10_000
PASSWORD = "bench password 1"
NOW = datetime.now(UTC).replace(microsecond=0)

FAMILY = ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임"]
GIVEN = ["민준", "서연", "도윤", "지우", "하준", "서윤", "예준", "하은", "시우", "지아"]
ENGLISH_NAMES = ["Alice Smith", "Bob Jones", "Carol White", "David Brown", "Eve Miller"]
PRODUCTS_KO = ["무선 이어폰", "블루투스 스피커", "노트북 거치대", "기계식 키보드", "보조배터리"]
PRODUCTS_EN = ["wireless earbuds", "bluetooth speaker", "laptop stand", "keyboard", "power bank"]
KOREAN = [
    "안녕하세요, 주문한 {p} 관련해서 문의드립니다.",
    "배송이 아직 도착하지 않았습니다. 언제쯤 받을 수 있을까요?",
    "제품에 하자가 있어서 교환을 요청합니다.",
    "결제가 두 번 된 것 같아요. 확인 부탁드립니다.",
    "영수증을 다시 보내주실 수 있나요?",
    "답변 감사합니다. 좋은 하루 되세요.",
    "주문번호는 {o} 입니다.",
    "포장이 파손된 상태로 도착했습니다. 사진 첨부합니다.",
]
ENGLISH = [
    "Hello, I have a question about the {p} I ordered.",
    "My parcel has not arrived yet. When can I expect it?",
    "The item is damaged, I would like an exchange.",
    "I think I was charged twice, could you check?",
    "Could you resend the invoice please?",
    "Thanks for the quick answer, have a nice day.",
    "My order number is {o}.",
    "The box arrived crushed, photos attached.",
]
# Searched terms: a short Korean word (common), rare one- and two-character Korean
# terms, a longer Korean phrase, an English word (also within the Unassigned view), a
# customer address fragment (of the first ticket's customer) and one order number (rare).
RARE_WORDS = {"환불": "환불 가능할까요?", "refund": "Can I get a refund?"}
# About one message in a thousand mentions mould: a rare two-character term (곰팡) and
# a rare one-character one (곰), which the indexes must find without a scan. Chosen by
# message number, so the random data stays the same as without it.
MOULD = "곰팡이가 피어 있었어요."
MOULD_EVERY = 997


def body(rng: random.Random, product: int, order: str, mould: bool = False) -> str:
    korean = rng.random() < 0.6
    lines = KOREAN if korean else ENGLISH
    names = PRODUCTS_KO if korean else PRODUCTS_EN
    sentences = [s.format(p=names[product % len(names)], o=order) for s in rng.sample(lines, 3)]
    # About 2% of messages ask for a refund, so those searches match thousands of tickets.
    if rng.random() < 0.02:
        sentences.append(RARE_WORDS["환불" if korean else "refund"])
    if mould:
        sentences.append(MOULD)
    return " ".join(sentences)


def fill(url: str, sizes: Sizes, seed: int = 11) -> dict:
    rng = random.Random(seed)
    engine = make_engine(url)
    started = time.perf_counter()
    with Session(engine) as session:
        agent_ids = make_agents(session, sizes.agents, PASSWORD)
        mailbox_ids = make_mailboxes(session, ("Support", "Sales", "Billing"))
        customers = []
        for i in range(sizes.customers):
            korean = i % 2 == 0
            name = rng.choice(FAMILY) + rng.choice(GIVEN) if korean else rng.choice(ENGLISH_NAMES)
            customers.append({"email": f"customer{i}@example.com", "name": name})
        ids_by_email = import_customers(session, customers)
    customer_ids = [ids_by_email[f"customer{i}@example.com"] for i in range(sizes.customers)]

    message_id = 0
    for start in range(0, sizes.tickets, BATCH):
        tickets, messages = [], []
        for ticket_id in range(start + 1, min(start + BATCH, sizes.tickets) + 1):
            age = timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
            created = NOW - age
            updated = created + (NOW - created) * rng.random() * 0.2
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
                # Live work is recent.
                created = NOW - timedelta(minutes=rng.randrange(0, 14 * 24 * 60))
                updated = created + (NOW - created) * rng.random()
            assignee = None if active and rng.random() < 0.3 else rng.choice(agent_ids)
            customer_last = status in ("new", "open")
            order = f"ORD-{ticket_id:06d}"
            product = rng.randrange(0, 1000)
            tickets.append(
                {
                    "id": ticket_id,
                    "subject": f"[{order}] "
                    + rng.choice(
                        ["배송 문의", "환불 요청", "교환 문의", "Where is my order?", "Invoice"]
                    ),
                    "status": status,
                    "priority": rng.choice(["low", "normal", "normal", "normal", "high", "urgent"]),
                    "mailbox_id": rng.choice(mailbox_ids),
                    "customer_id": rng.choice(customer_ids),
                    "assignee_id": assignee,
                    "version": 1,
                    "created_at": created,
                    "updated_at": updated,
                    "last_customer_message_at": created,
                    "customer_replied_last": customer_last,
                    "response_due_at": created + timedelta(hours=4) if customer_last else None,
                }
            )
            step = (updated - created) / MESSAGES_PER_TICKET
            for n in range(MESSAGES_PER_TICKET):
                message_id += 1
                from_customer = n % 2 == 0
                messages.append(
                    {
                        "id": message_id,
                        "ticket_id": ticket_id,
                        "kind": "customer" if from_customer else "reply",
                        "from_email": "" if not from_customer else "customer@example.com",
                        "subject": "",
                        "body_text": body(rng, product, order, message_id % MOULD_EVERY == 0),
                        "created_at": created + step * n,
                    }
                )
        with engine.begin() as conn:
            conn.execute(insert(Ticket), tickets)
            conn.execute(insert(Message), messages)
        if start == 0:
            email = f"customer{customer_ids.index(tickets[0]['customer_id'])}@"
    engine.dispose()
    return {"seconds": time.perf_counter() - started, "agents": len(agent_ids), "email": email}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def _found_tickets(path: str, body: bytes) -> None:
    # Every searched term occurs in the data: a fast empty page would be a bug.
    if "&q=" in path and b"data-ticket-id=" not in body:
        raise SystemExit(f"{path}: the search found nothing")


def measure(url: str, label: str, sizes: Sizes, filled: dict, redis_url: str, tmp: Path):
    app = create_app(web_config(url, redis_url, tmp / f"{label}-instance"))
    client = app.test_client()
    response = client.post(
        "/login", data={"email": "agent3@helpdesk.example", "password": PASSWORD}
    )
    assert response.status_code == 302, response.status_code
    rng = random.Random(3)
    views = {
        "unassigned": lambda: "/tickets?view=unassigned",
        "mine": lambda: "/tickets?view=mine",
        "search 환불 (2 chars)": lambda: "/tickets?view=all&q=환불",
        "search 곰팡 (2 chars, rare)": lambda: "/tickets?view=all&q=곰팡",
        "search 곰 (1 char, rare)": lambda: "/tickets?view=all&q=곰",
        "search 블루투스 스피커": lambda: "/tickets?view=all&q=블루투스 스피커",
        "search refund": lambda: "/tickets?view=all&q=refund",
        f"search {filled['email']}": lambda: f"/tickets?view=all&q={filled['email']}",
        "search order number": lambda: (
            f"/tickets?view=all&q=ORD-{rng.randrange(1, sizes.tickets):06d}"
        ),
        "search refund in Unassigned": lambda: "/tickets?view=unassigned&q=refund",
    }
    if "tickets.show" in app.view_functions:
        views["ticket page"] = lambda: f"/tickets/{rng.randrange(1, sizes.tickets + 1)}"
    else:
        print("  (no ticket page installed; its timing is left out)")
    worst = 0.0
    for name, path_of in views.items():
        samples = page_times(client, path_of, sizes.warmup, sizes.samples, _found_tickets)
        p50, p95 = statistics.median(samples), percentile(samples, 95)
        worst = max(worst, p95)
        print(f"  {label:10} {name:28} p50={p50:7.1f} ms  p95={p95:7.1f} ms  (n={len(samples)})")
    database.engine.dispose()
    return worst


def run_sqlite(sizes: Sizes, redis_url: str, tmp: Path) -> float:
    url = f"sqlite:///{tmp}/inbox.db"
    engine = make_engine(url)
    metadata.create_all(engine)
    # Like the GIN indexes on PostgreSQL, the search documents are built once after
    # the load instead of row by row; the triggers come back for the measured run.
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER ticket_search_insert")
        conn.exec_driver_sql("DROP TRIGGER ticket_search_message")
    engine.dispose()
    filled = fill(url, sizes)
    started = time.perf_counter()
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO ticket_search(rowid, subject, body) "
            f"SELECT t.id, t.subject || {SEARCH_TEXT_END}, coalesce((SELECT group_concat("
            f"m.body_text || {SEARCH_TEXT_END}, '') FROM messages m "
            "WHERE m.ticket_id = t.id), '') FROM tickets t"
        )
        for statement in SEARCH_DDL["sqlite"]:
            conn.exec_driver_sql(statement)
    engine.dispose()
    print(
        f"SQLite: filled in {filled['seconds']:.0f} s, "
        f"search documents in {time.perf_counter() - started:.0f} s"
    )
    return measure(url, "sqlite", sizes, filled, redis_url, tmp)


def run_postgres(sizes: Sizes, redis_url: str, tmp: Path) -> float:
    with temporary_postgres_database("bench_inbox") as url:
        engine = make_engine(url)
        metadata.create_all(engine)
        # GIN indexes build much faster once than row by row during the load.
        search_indexes = [
            index
            for table in (Ticket.__table__, Message.__table__)
            for index in table.indexes
            if index.dialect_kwargs.get("postgresql_using") == "gin"
        ]
        for index in search_indexes:
            index.drop(engine)
        engine.dispose()
        filled = fill(url, sizes)
        engine = make_engine(url)
        started = time.perf_counter()
        for index in search_indexes:
            index.create(engine)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        engine.dispose()
        print(
            f"PostgreSQL: filled in {filled['seconds']:.0f} s, "
            f"search indexes and VACUUM ANALYZE in {time.perf_counter() - started:.0f} s"
        )
        return measure(url, "postgres", sizes, filled, redis_url, tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tickets", type=int, nargs="?", default=Sizes.tickets)
    parser.add_argument("--quick", action="store_true", help="2,000 tickets, 2 samples")
    args = parser.parse_args()
    sizes = QUICK if args.quick else replace(Sizes(), tickets=args.tickets)
    cheap_password_hashing()
    with (
        tempfile.TemporaryDirectory(prefix="bench-inbox-") as tmp,
        benchmark_redis(tmp) as redis_url,
    ):
        # Import every feature now: the measured apps are built much later, after the load.
        create_app(web_config("sqlite://", redis_url, Path(tmp) / "instance"))
        print(
            f"{sizes.tickets:,} tickets, {sizes.tickets * MESSAGES_PER_TICKET:,} messages, "
            f"{sizes.agents} agents, {sizes.customers:,} customers; {sizes.samples} samples "
            f"per view after {sizes.warmup} warm-up requests"
        )
        sqlite_p95 = run_sqlite(sizes, redis_url, Path(tmp))
        postgres_p95 = run_postgres(sizes, redis_url, Path(tmp))
    print(f"sqlite_p95_ms={sqlite_p95:.1f} postgres_p95_ms={postgres_p95:.1f}")


if __name__ == "__main__":
    main()
