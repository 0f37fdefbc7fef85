"""How fast forking worker.py processes send a personalised campaign, on SQLite and on
PostgreSQL, against a bare send loop (the ceiling).

For each database (a fresh SQLite file, then a throwaway PostgreSQL database) it imports N
subscribed customers from a CSV file (the customer import), makes the segment and the
campaign with the campaigns service, starts 2 `worker.py` processes as production runs them (RQ's
forking worker, a work horse per job, with the crash-precise progress record in Redis),
starts the campaign and times it from the start until the campaign is sent. The SMTP
server is this file's threaded sink in its own process (or aiosmtpd's Sink with --sink
aiosmtpd, which costs about a millisecond per message itself). The ceiling is one process
in a bare loop that renders the same ~5 KB template in the Jinja2 sandbox, builds the same
message the same way the workers do (mime.build_campaign_message) and sends it with
smtplib over one reused connection to the same sink (a ratio above 1 means the workers
together beat one such process). For reference the run also prints the rate of as many
such loops side by side as there are workers, and of one loop that builds the message with
the email package (outbound.build_message), as campaign messages were built before.

    .venv/bin/python bench/send_campaign.py [--recipients 20000] [--workers 2] \
        [--ceiling-messages 2000] [--sink aiosmtpd]
    .venv/bin/python bench/send_campaign.py --quick    (300 recipients)

Redis: REDIS_URL when set (its database is flushed), else an embedded Redis started for
the run. PostgreSQL: BENCH_POSTGRES_URL names the server (default: the local one).
`--quick` sends a few hundred messages, to check that the benchmark still works.
The last line is machine-readable:
sqlite_msgs_per_s=... postgres_msgs_per_s=... ceiling_msgs_per_s=... ratio=...
(ratio: the slower database over the ceiling).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import smtplib
import socket
import socketserver
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.support import (  # noqa: E402
    benchmark_redis,
    free_port,
    import_customers,
    make_campaign,
    temporary_postgres_database,
)
from helpdesk.campaigns import jobs, rendering, tracking  # noqa: E402
from helpdesk.campaigns.mime import build_campaign_message, load_content  # noqa: E402
from helpdesk.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState  # noqa: E402
from helpdesk.campaigns.sending import SendSettings, start_sending  # noqa: E402
from helpdesk.config import Config  # noqa: E402
from helpdesk.db import database, make_engine, utcnow  # noqa: E402
from helpdesk.mail.outbound import build_message  # noqa: E402
from helpdesk.models import metadata  # noqa: E402

PARAGRAPH = (
    "<p style='font-size:15px;line-height:1.5;color:#333'>This season we picked new things "
    "for {{ customer.first_name }}: light jackets, linen shirts and shoes for long walks. "
    "Members get free delivery on every order this month.</p>\n"
)
TEMPLATE = (
    "<html><head><style>.cta{background:#2f6fde;color:#fff;padding:8px 14px}</style></head>"
    "<body><h1>Hello {{ customer.name }}</h1>\n"
    + "".join([PARAGRAPH] * 22)
    + '<p><a class="cta" href="https://shop.example/spring">See the spring range</a> '
    '<a href="https://shop.example/members">Members</a></p>'
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a> · '
    '<a href="{{ view_in_browser_url }}">View in your browser</a></p></body></html>'
)


class SinkHandler(socketserver.StreamRequestHandler):
    """A minimal SMTP server (RFC 5321: greeting, EHLO/HELO, MAIL, RCPT, DATA with the
    dot terminator, RSET, NOOP, QUIT) that accepts every message and keeps nothing.

    aiosmtpd's Sink reads a message body line by line through asyncio and costs about a
    millisecond per 10 KB message, most of what a bare send loop measures; this one
    reads with a buffered socket file in a thread per connection.
    """

    def handle(self) -> None:
        write, readline = self.wfile.write, self.rfile.readline
        write(b"220 bench-sink ESMTP\r\n")
        while line := readline(1002):
            verb = line[:4].upper()
            if verb == b"EHLO":
                write(b"250-bench-sink\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n")
            elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                write(b"250 OK\r\n")
            elif verb == b"DATA":
                write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                while (body_line := readline()) not in (b".\r\n", b""):
                    pass
                if not body_line:
                    return
                write(b"250 OK: queued\r\n")
            elif verb == b"QUIT":
                write(b"221 Bye\r\n")
                return
            else:
                write(b"500 Command not recognized\r\n")


def serve_sink(port: int) -> None:
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.daemon_threads = True
    with socketserver.ThreadingTCPServer(("127.0.0.1", port), SinkHandler) as server:
        server.serve_forever()


def start_sink(port: int, kind: str) -> subprocess.Popen:
    """The SMTP server both the workers and the ceiling loop send to, in its own process."""
    if kind == "aiosmtpd":
        argv = ["-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"]
    else:
        argv = [__file__, "--serve-sink", str(port)]
    sink = subprocess.Popen(
        [sys.executable, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return sink
        except OSError:
            time.sleep(0.1)
    sink.kill()
    raise SystemExit("the SMTP sink did not start")


def prepare(session, recipients: int) -> int:
    import_customers(
        session,
        [
            {
                "email": f"reader{n}@example.com",
                "name": f"Reader Number{n}",
                "subscription_status": "subscribed",
            }
            for n in range(recipients)
        ],
    )
    return make_campaign(
        session,
        {},
        name="Bench",
        subject="Spring news for {{ customer.first_name }}",
        from_name="Shop",
        from_email="news@shop.example",
        html_body=TEMPLATE,
    )


def start_workers(count: int, env: dict[str, str], log_path: str) -> list[subprocess.Popen]:
    """Workers as production runs them (forking, not --burst), ready before the campaign
    starts so that their start-up is not timed."""
    with open(log_path, "ab") as log:
        workers = [
            subprocess.Popen(
                [sys.executable, str(ROOT / "worker.py")],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            for _ in range(count)
        ]
    deadline = time.monotonic() + 60
    while _listening(log_path) < count:
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            stop_workers(workers)
            raise SystemExit(f"workers did not start:\n{_tail(log_path)}")
        time.sleep(0.1)
    return workers


def _listening(log_path: str) -> int:
    with open(log_path, errors="replace") as log:
        return log.read().count("*** Listening on")


def _tail(log_path: str) -> str:
    with open(log_path, errors="replace") as log:
        return log.read()[-3000:]


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=60)


def send_with_workers(database_url: str, base_env: dict[str, str], args, tmp: str) -> float:
    """Messages per second from the campaign's start until it is sent."""
    engine = make_engine(database_url)
    metadata.create_all(engine)
    engine.dispose()
    env = base_env | {"DATABASE_URL": database_url}
    config = Config.from_env(env)
    Redis.from_url(config.effective_redis_url).flushdb()
    database.configure(database_url)
    with database.session() as session:
        campaign_id = prepare(session, args.recipients)
    log_path = f"{tmp}/workers-{uuid.uuid4().hex[:6]}.log"
    workers = start_workers(args.workers, env, log_path)
    try:
        with database.session() as session:
            started = time.perf_counter()
            start_sending(session, campaign_id, utcnow(), enqueue_jobs=jobs.enqueuer(config))
            while session.scalar(select(Campaign.status).where(Campaign.id == campaign_id)) != (
                CampaignStatus.sent
            ):
                session.rollback()
                if any(worker.poll() is not None for worker in workers):
                    raise SystemExit(f"a worker died:\n{_tail(log_path)}")
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            states = dict(
                session.execute(
                    select(Delivery.state, func.count())
                    .where(Delivery.campaign_id == campaign_id)
                    .group_by(Delivery.state)
                ).all()
            )
    finally:
        stop_workers(workers)
        database.engine.dispose()
    sent = states.get(DeliveryState.sent, 0)
    if sent != args.recipients:
        raise SystemExit(f"only {sent} of {args.recipients} sent: {states}")
    print(f"  {sent} sent in {elapsed:.1f} s", flush=True)
    return sent / elapsed


def ceiling(
    campaign: Campaign,
    links: dict[str, int],
    smtp_port: int,
    messages: int,
    config: Config,
    processes: int,
) -> float:
    """As many processes as there are workers, each rendering in the sandbox, building as
    the workers do and sending over one smtplib connection, nothing else: their messages
    together over the wall time."""
    share = max(1, messages // processes)
    ready, go = multiprocessing.Barrier(processes + 1), multiprocessing.Event()
    loops = [
        multiprocessing.Process(
            target=_send_loop,
            args=(campaign, links, smtp_port, share, config, n * share, ready, go),
        )
        for n in range(processes)
    ]
    for loop in loops:
        loop.start()
    ready.wait()
    started = time.perf_counter()
    go.set()
    for loop in loops:
        loop.join()
    elapsed = time.perf_counter() - started
    if any(loop.exitcode for loop in loops):
        raise SystemExit("a ceiling loop failed")
    return share * processes / elapsed


def _send_loop(campaign, links, smtp_port, messages, config, first, ready, go) -> None:
    settings = SendSettings.from_config(config)
    connection = smtplib.SMTP("127.0.0.1", smtp_port)
    ready.wait()
    go.wait()
    for n in range(first, first + messages):
        context = {"name": f"Reader Number{n}", "first_name": "Reader", "email": "x"}
        recipient = f"reader{n}@example.com"
        message = build_campaign_message(campaign, links, f"{n:032x}", recipient, context, settings)
        connection.sendmail(message.mail_from, [recipient], message.data)
    connection.quit()


def email_package_ceiling(
    campaign: Campaign, smtp_port: int, messages: int, config: Config
) -> float:
    """The same loop with the message made by the email package (build_message)."""
    domain = config.effective_mail_domain
    connection = smtplib.SMTP("127.0.0.1", smtp_port)
    started = time.perf_counter()
    for n in range(messages):
        token = f"{n:032x}"
        urls = tracking.tracking_urls(config.public_url, config.secret_key, token)
        context = {"name": f"Reader Number{n}", "first_name": "Reader", "email": "x"}
        subject, html, text = rendering.render_for_delivery(
            campaign,
            context,
            {
                "unsubscribe_url": urls.unsubscribe_url,
                "view_in_browser_url": urls.view_in_browser_url,
            },
        )
        message = build_message(
            f"Shop <{campaign.from_email}>",
            f"reader{n}@example.com",
            subject,
            text,
            html,
            headers={"List-Unsubscribe": f"<{urls.unsubscribe_url}>"},
            domain=domain,
        )
        connection.send_message(message, from_addr=f"bounces+{token}@{domain}")
    elapsed = time.perf_counter() - started
    connection.quit()
    return messages / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ceiling-messages", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument(
        "--sink",
        choices=["threaded", "aiosmtpd"],
        default="threaded",
        help="the SMTP server to send to: this file's threaded sink or aiosmtpd's Sink",
    )
    parser.add_argument("--quick", action="store_true", help="a few hundred messages")
    parser.add_argument("--serve-sink", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sink:
        serve_sink(args.serve_sink)
        return 0
    if args.quick:
        args.recipients, args.ceiling_messages = 300, 200

    with tempfile.TemporaryDirectory(prefix="bench-send-") as tmp, benchmark_redis(tmp) as redis:
        smtp_port = free_port()
        sink = start_sink(smtp_port, args.sink)
        env = dict(os.environ) | {
            "REDIS_URL": redis,
            "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "SECRET_KEY": "bench-secret",
            "PUBLIC_URL": "https://news.shop.example",
            "HELPDESK_INSTANCE": f"{tmp}/instance",
            "CAMPAIGN_RATE_PER_SECOND": "0",
            "CAMPAIGN_BATCH_SIZE": str(args.batch),
            "CAMPAIGN_CONCURRENCY": str(args.workers),
        }
        try:
            print(f"sink: {args.sink}; {args.workers} workers; {args.recipients} recipients")
            print("SQLite:", flush=True)
            sqlite_rate = send_with_workers(f"sqlite:///{tmp}/bench.db", env, args, tmp)
            print("PostgreSQL:", flush=True)
            with temporary_postgres_database("bench_send") as postgres_url:
                postgres_rate = send_with_workers(postgres_url, env, args, tmp)
            config = Config.from_env(env | {"DATABASE_URL": f"sqlite:///{tmp}/bench.db"})
            database.configure(config.database_url)
            with database.session() as session:
                campaign_id = session.scalar(select(func.max(Campaign.id)))
                campaign, links = load_content(session, campaign_id)
                size = len(
                    rendering.render_for_delivery(
                        campaign,
                        {"name": "Reader Number1", "first_name": "Reader"},
                        {"unsubscribe_url": "u", "view_in_browser_url": "v"},
                    )[1]
                )
            print(f"template: {size} bytes of HTML after inlining", flush=True)
            ceiling_rate = ceiling(campaign, links, smtp_port, args.ceiling_messages, config, 1)
            print(f"ceiling: one loop, {args.ceiling_messages} messages at {ceiling_rate:.0f}/s")
            side_by_side = ceiling(
                campaign, links, smtp_port, args.ceiling_messages, config, args.workers
            )
            print(
                f"for reference: {args.workers} such loops side by side: {side_by_side:.0f}/s "
                f"(the slower database reaches {min(sqlite_rate, postgres_rate) / side_by_side:.2f}"
                " of that)",
                flush=True,
            )
            old_rate = email_package_ceiling(campaign, smtp_port, args.ceiling_messages, config)
            print(
                f"reference: the same loop building with the email package: {old_rate:.0f}/s",
                flush=True,
            )
        finally:
            sink.terminate()
            sink.wait()
            database.engine and database.engine.dispose()
    ratio = min(sqlite_rate, postgres_rate) / ceiling_rate
    print(
        f"sqlite_msgs_per_s={sqlite_rate:.0f} postgres_msgs_per_s={postgres_rate:.0f} "
        f"ceiling_msgs_per_s={ceiling_rate:.0f} ratio={ratio:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
