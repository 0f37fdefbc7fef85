"""How fast polled mail becomes tickets, against the ceiling of just fetching and parsing it.

Starts its own Dovecot, delivers generated mail (threads and replies, Korean in UTF-8 and
EUC-KR, HTML, attachments), polls it into tickets on a fresh SQLite file and a fresh
PostgreSQL database, and measures a bare imapclient FETCH + stdlib parse of the same mail.

    .venv/bin/python bench/ingest.py [--messages 5000] [--batch 200]
    .venv/bin/python bench/ingest.py --quick    (100 messages, a few seconds)

The mailbox is made by the mail service, the tickets by the poller itself. Redis:
REDIS_URL when set (its database is flushed), else an embedded Redis started for the run.

The last line is machine-readable:
sqlite_msgs_per_s=... postgres_msgs_per_s=... ceiling_msgs_per_s=... ratio=...
(ratio: the slower database over the ceiling). Each phase also reports the CPU time of
this process per message, which varies less than wall time on a shared machine (the
database server's and Dovecot's CPU time is not in it).
"""

from __future__ import annotations

import argparse
import email
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, make_msgid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from bench.support import (  # noqa: E402
    benchmark_redis,
    dovecot_server,
    temporary_postgres_database,
)
from helpdesk.config import Config  # noqa: E402
from helpdesk.db import database, make_engine  # noqa: E402
from helpdesk.inbound.poll import poll_mailbox  # noqa: E402
from helpdesk.mail.models import RawMessage, RawStatus, TLSMode  # noqa: E402
from helpdesk.mail.service import create_mailbox  # noqa: E402
from helpdesk.models import metadata  # noqa: E402
from helpdesk.tickets.models import Ticket  # noqa: E402

PASSWORD_ENV = "BENCH_IMAP_PASSWORD"

KOREAN_SUBJECTS = [
    "주문한 상품이 아직 안 왔어요",
    "환불 요청드립니다",
    "배송지 변경 문의",
    "결제 오류",
]
KOREAN_BODY = (
    "안녕하세요. 지난주에 주문한 상품이 아직 도착하지 않았습니다.\n"
    "주문번호를 확인해 주시고 언제 받을 수 있는지 알려주세요.\n감사합니다.\n"
)
ENGLISH_SUBJECTS = ["Order missing", "Refund please", "Cannot log in", "Invoice question"]
ENGLISH_BODY = (
    "Hello,\n\nI ordered last week and nothing has arrived yet. Could you check what "
    "happened to my order and tell me when it will be delivered?\n\nThanks,\n"
)


def generate(count: int, seed: int = 7) -> list[bytes]:
    """Varied mail: a fifth are replies into earlier threads, a third Korean."""
    rng = random.Random(seed)
    senders = [f"customer{n}@example.com" for n in range(count // 6 + 1)]
    start = datetime(2026, 11, 1, 9, tzinfo=UTC)
    sent: list[tuple[str, str, str]] = []  # (message id, sender, subject)
    messages = []
    for n in range(count):
        message = EmailMessage()
        korean = rng.random() < 0.33
        if sent and rng.random() < 0.2:
            parent_id, sender, subject = rng.choice(sent)
            message["In-Reply-To"] = parent_id
            message["References"] = parent_id
            subject = "Re: " + subject.removeprefix("Re: ")
        else:
            sender = rng.choice(senders)
            subject = rng.choice(KOREAN_SUBJECTS if korean else ENGLISH_SUBJECTS) + f" {n}"
        body = (KOREAN_BODY if korean else ENGLISH_BODY) * rng.randint(1, 4)
        name = "김민지" if korean else "Alex Customer"
        message["From"] = f"{name} <{sender}>"
        message["To"] = "support@helpdesk.test"
        message["Subject"] = subject
        message["Date"] = format_datetime(start + timedelta(minutes=n))
        message_id = make_msgid(idstring=str(n), domain="example.com")
        message["Message-ID"] = message_id
        if korean and rng.random() < 0.4:
            message.set_content(body, charset="euc-kr", cte="base64")
        else:
            message.set_content(body)
        if rng.random() < 0.15:
            message.add_alternative(f"<p>{body.replace(chr(10), '<br>')}</p>", subtype="html")
        if rng.random() < 0.05:
            message.add_attachment(
                rng.randbytes(rng.randint(2_000, 40_000)),
                maintype="application",
                subtype="pdf",
                filename="receipt.pdf",
            )
        sent.append((message_id, sender, subject))
        messages.append(message.as_bytes(policy=default_policy.clone(linesep="\r\n")))
    return messages


def cpu_ms_per_message(cpu_started: float, messages: int) -> float:
    return (time.process_time() - cpu_started) * 1000 / max(messages, 1)


def ceiling(account, batch: int) -> tuple[float, int, float]:
    """The bare minimum: FETCH BODY.PEEK[] in the same batches and parse each message."""
    started, cpu_started = time.perf_counter(), time.process_time()
    parsed = 0
    with account.connect() as client:
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search())
        for i in range(0, len(uids), batch):
            for data in client.fetch(uids[i : i + batch], ["BODY.PEEK[]"]).values():
                email.message_from_bytes(data[b"BODY[]"], policy=default_policy)
                parsed += 1
    rate = parsed / (time.perf_counter() - started)
    return rate, parsed, cpu_ms_per_message(cpu_started, parsed)


def create_schema(url: str) -> None:
    # From the models, as the test suite does; the migrations are regenerated from them.
    engine = make_engine(url)
    metadata.create_all(engine)
    engine.dispose()


def poll_into(url: str, account, batch: int, instance: Path, redis_url: str, expected: int):
    create_schema(url)
    config = Config(
        instance_path=instance,
        database_url=url,
        secret_key="bench-secret",
        redis_url=redis_url,
        public_url="http://helpdesk.test",
        mailbox_poll_batch=batch,
        poll_time_budget_seconds=3600,
        poll_size_budget_bytes=10**12,
    )
    database.configure(url)
    with database.session() as session:
        mailbox = create_mailbox(
            session,
            {
                "name": "Support",
                "address": "support@helpdesk.test",
                "imap_host": account.host,
                "imap_port": str(account.port),
                "imap_tls": TLSMode.none.value,
                "imap_user": account.user,
                "password_ref": f"env:{PASSWORD_ENV}",
                "is_active": True,
            },
        )
        session.commit()
        mailbox_id = mailbox.id
    started, cpu_started = time.perf_counter(), time.process_time()
    result = poll_mailbox(mailbox_id, config)
    elapsed = time.perf_counter() - started
    cpu = cpu_ms_per_message(cpu_started, result.fetched)
    with database.session() as session:
        tickets = session.scalar(select(func.count()).select_from(Ticket))
        by_status = dict(
            session.execute(
                select(RawMessage.status, func.count()).group_by(RawMessage.status)
            ).all()
        )
    database.engine.dispose()
    if result.error or result.fetched != expected:
        raise SystemExit(f"poll into {url} failed: {result}")
    statuses = ", ".join(f"{status.value} {n}" for status, n in sorted(by_status.items()))
    print(f"  {result.fetched} messages in {elapsed:.1f} s: {tickets} tickets; raw {statuses}")
    print(f"  CPU {cpu:.2f} ms per message")
    if by_status.get(RawStatus.quarantined):
        print("  warning: some messages were quarantined")
    return result.fetched / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    # The product's default batch size, for the poll and the ceiling alike.
    parser.add_argument("--batch", type=int, default=Config.mailbox_poll_batch)
    parser.add_argument("--quick", action="store_true", help="100 messages")
    args = parser.parse_args()
    if args.quick:
        args.messages = 100

    with (
        tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp,
        tempfile.TemporaryDirectory(prefix="bench-dovecot-") as dovecot_root,
        benchmark_redis(tmp) as redis_url,
        dovecot_server(Path(dovecot_root)) as server,
    ):
        tmp_path = Path(tmp)
        account = server.account("bench")
        os.environ[PASSWORD_ENV] = account.password
        print(f"Delivering {args.messages} generated messages to Dovecot ...")
        account.append_many(generate(args.messages))

        ceiling_rate, parsed, ceiling_cpu = ceiling(account, args.batch)
        print(f"Ceiling (imapclient FETCH + email parse): {ceiling_rate:.0f} msgs/s")
        print(f"  CPU {ceiling_cpu:.2f} ms per message")

        instance = tmp_path / "instance"
        print("SQLite:")
        sqlite_url = f"sqlite:///{tmp_path / 'bench.db'}"
        sqlite_rate = poll_into(sqlite_url, account, args.batch, instance, redis_url, parsed)
        print("PostgreSQL:")
        with temporary_postgres_database("bench_ingest") as pg_url:
            postgres_rate = poll_into(pg_url, account, args.batch, instance, redis_url, parsed)

    ratio = min(sqlite_rate, postgres_rate) / ceiling_rate
    print(
        f"sqlite_msgs_per_s={sqlite_rate:.0f} postgres_msgs_per_s={postgres_rate:.0f} "
        f"ceiling_msgs_per_s={ceiling_rate:.0f} ratio={ratio:.2f}"
    )


if __name__ == "__main__":
    main()
