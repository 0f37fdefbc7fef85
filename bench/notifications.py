"""What notifying agents costs ingest: batches of new-ticket mail taken in with nobody
watching the mailbox, then with many agents watching it (each new ticket notifies them
all, in one INSERT per batch), on a fresh SQLite file and a fresh PostgreSQL database.

    .venv/bin/python bench/notifications.py [--messages 2000] [--batch 200] [--watchers 20]
    .venv/bin/python bench/notifications.py --quick    (200 messages, a few seconds)

The last line is machine-readable:
sqlite_ratio=... postgres_ratio=... notifications=...
(ratio: messages per second with watchers over without; 1.0 means notifying is free).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.support import (  # noqa: E402
    cheap_password_hashing,
    make_agents,
    make_mailboxes,
    temporary_postgres_database,
)
from helpdesk.db import make_engine  # noqa: E402
from helpdesk.inbound.incoming import Incoming, IngestSettings  # noqa: E402
from helpdesk.inbound.ingest import ingest_batch  # noqa: E402
from helpdesk.mail.models import RawSource  # noqa: E402
from helpdesk.models import metadata  # noqa: E402
from helpdesk.notifications import service  # noqa: E402
from helpdesk.notifications.models import Notification  # noqa: E402

SETTINGS = IngestSettings(secret_key="bench-secret", domain="helpdesk.example")


def new_ticket_mail(n: int, run: str) -> bytes:
    return (
        f"From: Customer {n} <c{n}@example.com>\r\nTo: quiet@helpdesk.example\r\n"
        f"Subject: 주문 문의 {n}\r\nMessage-ID: <{run}-{n}@example.com>\r\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"주문한 상품이 아직 안 왔어요. Order {n} has not arrived.\r\n"
    ).encode()


def ingest_seconds(session: Session, mailbox_id: int, mails: list[Incoming]) -> float:
    started = time.perf_counter()
    ingest_batch(session, mails, source=RawSource.imap, settings=SETTINGS, mailbox_id=mailbox_id)
    return time.perf_counter() - started


def measure(url: str, count: int, batch: int, watchers: int) -> tuple[float, int]:
    """Batches to the unwatched and the watched mailbox alternate, so the database's
    growth and the machine's other load weigh on both alike."""
    engine = make_engine(url)
    metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as session:
        agents = make_agents(session, watchers, "bench-password")
        quiet, watched = make_mailboxes(session, ["quiet", "watched"])
        for agent_id in agents:
            service.save_watches(session, agent_id, [watched])
        session.commit()
        ingest_seconds(session, quiet, [Incoming(new_ticket_mail(n, "warm")) for n in range(batch)])
        seconds = {quiet: 0.0, watched: 0.0}
        for start in range(0, count, batch):
            for mailbox_id in (quiet, watched):
                mails = [
                    Incoming(new_ticket_mail(n, f"{mailbox_id}"))
                    for n in range(start, min(count, start + batch))
                ]
                seconds[mailbox_id] += ingest_seconds(session, mailbox_id, mails)
        made = session.scalar(select(func.count(Notification.id)))
    engine.dispose()
    without, with_watchers = count / seconds[quiet], count / seconds[watched]
    print(
        f"  {without:.0f} msgs/s unwatched, {with_watchers:.0f} msgs/s with "
        f"{watchers} watchers ({made} notifications)"
    )
    return with_watchers / without, made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--watchers", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="200 messages")
    args = parser.parse_args()
    if args.quick:
        args.messages, args.batch, args.watchers = 200, 100, 10
    cheap_password_hashing()
    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite:")
        sqlite_ratio, made = measure(
            f"sqlite:///{tmp}/bench.db", args.messages, args.batch, args.watchers
        )
    with temporary_postgres_database("bench_notifications") as url:
        print("PostgreSQL:")
        postgres_ratio, _ = measure(url, args.messages, args.batch, args.watchers)
    print(
        f"sqlite_ratio={sqlite_ratio:.2f} postgres_ratio={postgres_ratio:.2f} notifications={made}"
    )


if __name__ == "__main__":
    main()
