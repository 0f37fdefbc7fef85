"""How long the customer page's record (tickets list and timeline) takes to gather for a
customer with thousands of ticket messages, next to one with a single ticket, and how long
an "Older" timeline page deep in the busy customer's story takes (keyset pages: it should
cost what the first page costs).

Writes one busy customer (many tickets, each with customer messages, replies and status
events) and one quiet customer among other customers' tickets into a fresh SQLite file,
or a fresh PostgreSQL database with --postgres, then times customer_record() as an agent
sees it.

    .venv/bin/python bench/customer_story.py [--tickets 500] [--messages 10] [--postgres]
    .venv/bin/python bench/customer_story.py --quick [--postgres]   (a few seconds)

The last line is machine-readable:
busy_p95_ms=... quiet_p95_ms=... deep_page_p95_ms=... deep_page=... messages=...
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import helpdesk.tickets.customer_story  # noqa: E402,F401  (registers the ticket sources)
from bench.support import temporary_postgres_database  # noqa: E402
from helpdesk.auth.models import Role, User  # noqa: E402
from helpdesk.customers.models import Customer  # noqa: E402
from helpdesk.customers.service import customer_record, customer_timeline_page  # noqa: E402
from helpdesk.db import make_engine  # noqa: E402
from helpdesk.models import metadata  # noqa: E402
from helpdesk.tickets.models import Message, MessageKind, Ticket, TicketStatus  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=UTC)


@contextmanager
def database(postgres: bool) -> Iterator[str]:
    if postgres:
        with temporary_postgres_database("bench_customer_story") as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{tmp}/bench.db"


def _customer(session: Session, email: str) -> int:
    customer = Customer(email=email, name=email.split("@")[0], created_at=START, updated_at=START)
    session.add(customer)
    session.flush()
    return customer.id


def _tickets(session: Session, customer_id: int, agent_id: int, tickets: int, messages: int):
    """`tickets` tickets of the customer, each with `messages` messages alternating the
    customer's and ours, and a status event; most resolved."""
    statuses = [TicketStatus.resolved] * 3 + [TicketStatus.open]
    rows = [
        {
            "subject": f"Question {n}",
            "status": statuses[n % len(statuses)],
            "customer_id": customer_id,
            "assignee_id": agent_id,
            "created_at": START + timedelta(hours=n),
            "updated_at": START + timedelta(hours=n, minutes=messages),
            "resolved_at": START + timedelta(hours=n, minutes=messages) if n % 4 else None,
        }
        for n in range(tickets)
    ]
    session.execute(insert(Ticket), rows)
    ids = session.scalars(
        select(Ticket.id).where(Ticket.customer_id == customer_id).order_by(Ticket.id)
    ).all()
    body = "안녕하세요, 주문한 상품이 아직 도착하지 않았습니다. " * 20
    batch = []
    for n, ticket_id in enumerate(ids):
        at = START + timedelta(hours=n)
        for m in range(messages):
            ours = m % 2 == 1
            batch.append(
                {
                    "ticket_id": ticket_id,
                    "kind": MessageKind.reply if ours else MessageKind.customer,
                    "author_id": agent_id if ours else None,
                    "body_text": body,
                    "body_reply": body if ours else "",
                    "created_at": at + timedelta(minutes=m),
                }
            )
        batch.append(
            {
                "ticket_id": ticket_id,
                "kind": MessageKind.event,
                "body_text": "Status new → open by Bench Agent.",
                "created_at": at + timedelta(seconds=30),
            }
        )
        if len(batch) >= 5000:
            session.execute(insert(Message), batch)
            batch = []
    if batch:
        session.execute(insert(Message), batch)


def _times(session: Session, customer_id: int, repeats: int) -> list[float]:
    found = []
    for _ in range(repeats):
        session.expire_all()
        customer = session.get(Customer, customer_id)
        started = time.perf_counter()
        customer_record(session, customer, Role.agent)
        found.append((time.perf_counter() - started) * 1000)
        session.rollback()
    return found


def _deep_page_times(
    session: Session, customer_id: int, repeats: int, depth: int = 40
) -> tuple[int, list[float]]:
    """Walk `depth` pages back (or to the last one), then time that page."""
    cursor, page_number = None, 1
    while page_number < depth:
        older = customer_timeline_page(session, customer_id, Role.agent, cursor).older
        if older is None:
            break
        cursor, page_number = older, page_number + 1
    found = []
    for _ in range(repeats):
        session.expire_all()
        started = time.perf_counter()
        customer_timeline_page(session, customer_id, Role.agent, cursor)
        found.append((time.perf_counter() - started) * 1000)
        session.rollback()
    return page_number, found


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=500)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.tickets, args.messages, args.repeats = 40, 6, 5

    with database(args.postgres) as url:
        engine = make_engine(url)
        metadata.create_all(engine)
        with Session(engine) as session:
            agent = User(email="bench@example.org", name="Bench Agent", role=Role.agent)
            agent.password_hash = "-"
            session.add(agent)
            session.flush()
            busy = _customer(session, "busy@example.org")
            quiet = _customer(session, "quiet@example.org")
            other = _customer(session, "other@example.org")
            _tickets(session, busy, agent.id, args.tickets, args.messages)
            _tickets(session, quiet, agent.id, 1, 2)
            _tickets(session, other, agent.id, args.tickets, args.messages)
            session.commit()
            messages = args.tickets * (args.messages + 1)
            print(f"busy customer: {args.tickets} tickets, {messages} messages", file=sys.stderr)
            busy_ms = p95(_times(session, busy, args.repeats))
            quiet_ms = p95(_times(session, quiet, args.repeats))
            deep_page, deep_times = _deep_page_times(session, busy, args.repeats)
            deep_ms = p95(deep_times)
        engine.dispose()
    print(
        f"busy_p95_ms={busy_ms:.1f} quiet_p95_ms={quiet_ms:.1f} "
        f"deep_page_p95_ms={deep_ms:.1f} deep_page={deep_page} messages={messages}"
    )


if __name__ == "__main__":
    main()
