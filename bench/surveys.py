"""How fast the worker's survey check decides and mails due surveys: many tickets
resolved an hour ago, one customer each, one check run against a local SMTP server
(aiosmtpd), on a fresh SQLite file and a fresh PostgreSQL database.

    .venv/bin/python bench/surveys.py [--tickets 2000]
    .venv/bin/python bench/surveys.py --quick    (200 tickets, a few seconds)

The last line is machine-readable:
sqlite_surveys_per_s=... postgres_surveys_per_s=... mailed=...
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.support import free_port, make_mailboxes, temporary_postgres_database  # noqa: E402
from helpdesk.config import Config  # noqa: E402
from helpdesk.customers.models import Customer  # noqa: E402
from helpdesk.db import database, make_engine, utcnow  # noqa: E402
from helpdesk.models import metadata  # noqa: E402
from helpdesk.surveys import jobs, service  # noqa: E402
from helpdesk.surveys.models import BadRatingAction  # noqa: E402
from helpdesk.tickets.models import Ticket, TicketStatus  # noqa: E402


class CountingHandler:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def seed(url: str, count: int) -> None:
    engine = make_engine(url)
    metadata.create_all(engine)
    now = utcnow()
    with Session(engine) as session:
        [mailbox_id] = make_mailboxes(session, ["support"])
        settings = service.SettingsData(
            enabled=True,
            delay_minutes=30,
            question_en=service.DEFAULT_QUESTION_EN,
            question_ko=service.DEFAULT_QUESTION_KO,
            quiet_days=30,
            bad_rating_action=BadRatingAction.nothing,
        )
        service.save_settings(session, mailbox_id, settings, now - timedelta(days=1))
        session.execute(
            insert(Customer),
            [{"email": f"c{n}@example.com", "name": f"고객 {n}"} for n in range(count)],
        )
        customer_ids = session.scalars(select(Customer.id).order_by(Customer.id)).all()
        resolved = now - timedelta(hours=1)
        session.execute(
            insert(Ticket),
            [
                {
                    "subject": f"배송 문의 {n}",
                    "customer_id": customer_id,
                    "mailbox_id": mailbox_id,
                    "status": TicketStatus.resolved,
                    "resolved_at": resolved,
                    "created_at": resolved - timedelta(hours=2),
                }
                for n, customer_id in enumerate(customer_ids)
            ],
        )
        session.commit()
    engine.dispose()


def measure(url: str, count: int, tmp: str) -> tuple[float, int]:
    seed(url, count)
    handler = CountingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    database.configure(url)
    config = Config(
        instance_path=Path(tmp) / "instance",
        database_url=url,
        secret_key="bench",
        smtp_url=f"smtp://127.0.0.1:{port}",
        public_url="https://helpdesk.example",
    )
    try:
        started = time.perf_counter()
        mailed = 0
        # One check handles up to 500 due tickets; the worker runs it once a minute.
        while sent := jobs.send_due_surveys(config):
            mailed += sent
        seconds = time.perf_counter() - started
    finally:
        controller.stop()
    rate = mailed / seconds
    print(f"  {mailed} surveys mailed in {seconds:.2f} s: {rate:.0f}/s")
    return rate, handler.count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="200 tickets")
    args = parser.parse_args()
    if args.quick:
        args.tickets = 200
    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite:")
        sqlite_rate, mailed = measure(f"sqlite:///{tmp}/bench.db", args.tickets, tmp)
        with temporary_postgres_database("bench_surveys") as url:
            print("PostgreSQL:")
            postgres_rate, _ = measure(url, args.tickets, tmp)
    print(
        f"sqlite_surveys_per_s={sqlite_rate:.0f} postgres_surveys_per_s={postgres_rate:.0f} "
        f"mailed={mailed}"
    )


if __name__ == "__main__":
    main()
