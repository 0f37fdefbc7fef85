"""How fast worker.py sends a personalised campaign, against a bare send loop (the ceiling).

Makes a fresh SQLite database (or uses BENCH_DATABASE_URL, e.g. a PostgreSQL database made
for the run) with N subscribed customers, starts an SMTP sink in its own process (this
file's threaded one, or aiosmtpd's Sink with --sink aiosmtpd, which costs about a
millisecond per message itself), starts the campaign and runs 2 `worker.py --burst`
processes until every delivery has an outcome. The ceiling is one process that renders
the same ~5 KB template in the Jinja2 sandbox, builds the same message the same way the
workers do (sending.build_campaign_message) and sends it with smtplib over one reused
connection to the same sink: the ratio is what the workers' own machinery (claims, state
changes, the job queue) leaves of it. For reference the run also prints the rate of that
loop when the message goes through the email package (outbound.build_message), as
campaign messages were built before.

    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/send_campaign.py \
        [--recipients 20000] [--workers 2] [--ceiling-messages 2000] [--sink aiosmtpd]

The Redis database named by REDIS_URL is flushed. The last line is machine-readable:
msgs_per_s=... ceiling_msgs_per_s=... ratio=...
"""

from __future__ import annotations

import argparse
import os
import smtplib
import socket
import socketserver
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from helpdesk.campaigns import jobs, rendering, tracking  # noqa: E402
from helpdesk.campaigns.models import Campaign, Delivery, DeliveryState, Segment  # noqa: E402
from helpdesk.campaigns.sending import (  # noqa: E402
    SendSettings,
    build_campaign_message,
    load_content,
    start_sending,
)
from helpdesk.config import Config  # noqa: E402
from helpdesk.customers.models import Customer, SubscriptionStatus  # noqa: E402
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    rows = [
        {
            "email": f"reader{n}@example.com",
            "name": f"Reader Number{n}",
            "subscription_status": SubscriptionStatus.subscribed,
        }
        for n in range(recipients)
    ]
    for start in range(0, len(rows), 5000):
        session.execute(insert(Customer), rows[start : start + 5000])
    segment = Segment(name="Everyone", rules={})
    session.add(segment)
    session.flush()
    campaign = Campaign(
        name="Bench",
        subject="Spring news for {{ customer.first_name }}",
        from_name="Shop",
        from_email="news@shop.example",
        html_body=TEMPLATE,
        segment_id=segment.id,
    )
    session.add(campaign)
    session.commit()
    return campaign.id


def run_workers(count: int, env: dict[str, str]) -> float:
    started = time.perf_counter()
    workers = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py"), "--burst"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(count)
    ]
    for worker in workers:
        _, stderr = worker.communicate()
        if worker.returncode != 0:
            raise SystemExit(f"worker failed:\n{stderr.decode()[-2000:]}")
    return time.perf_counter() - started


def ceiling(
    campaign: Campaign, links: dict[str, int], smtp_port: int, messages: int, config: Config
) -> float:
    """Render in the sandbox, build as the workers do, send over one smtplib connection:
    nothing else."""
    settings = SendSettings.from_config(config)
    connection = smtplib.SMTP("127.0.0.1", smtp_port)
    started = time.perf_counter()
    for n in range(messages):
        context = {"name": f"Reader Number{n}", "first_name": "Reader", "email": "x"}
        recipient = f"reader{n}@example.com"
        message = build_campaign_message(campaign, links, f"{n:032x}", recipient, context, settings)
        connection.sendmail(message.mail_from, [recipient], message.data)
    elapsed = time.perf_counter() - started
    connection.quit()
    return messages / elapsed


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
    parser.add_argument("--serve-sink", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sink:
        serve_sink(args.serve_sink)
        return 0
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        raise SystemExit("set REDIS_URL to a Redis database this run may flush")
    Redis.from_url(redis_url).flushdb()

    with tempfile.TemporaryDirectory(prefix="bench-send-") as tmp:
        database_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(database_url)
        metadata.create_all(engine)
        engine.dispose()
        smtp_port = free_port()
        sink = start_sink(smtp_port, args.sink)
        print(f"sink: {args.sink}", flush=True)
        env = dict(os.environ) | {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "SECRET_KEY": "bench-secret",
            "PUBLIC_URL": "https://news.shop.example",
            "HELPDESK_INSTANCE": f"{tmp}/instance",
            "CAMPAIGN_RATE_PER_SECOND": "0",
            "CAMPAIGN_BATCH_SIZE": str(args.batch),
            "CAMPAIGN_CONCURRENCY": str(args.workers),
        }
        config = Config.from_env(env)
        try:
            database.configure(database_url)
            with database.session() as session:
                campaign_id = prepare(session, args.recipients)
                campaign = session.get(Campaign, campaign_id)
                size = len(
                    rendering.render_for_delivery(
                        campaign,
                        {"name": "Reader Number1", "first_name": "Reader"},
                        {"unsubscribe_url": "u", "view_in_browser_url": "v"},
                    )[1]
                )
                print(f"template: {size} bytes of HTML after inlining", flush=True)
                start_sending(session, campaign_id, utcnow(), enqueue_jobs=jobs.enqueuer(config))
            elapsed = run_workers(args.workers, env)
            with database.session() as session:
                sent = session.scalar(
                    select(func.count()).where(
                        Delivery.campaign_id == campaign_id, Delivery.state == DeliveryState.sent
                    )
                )
                campaign, links = load_content(session, campaign_id)
            print(f"workers: {sent} of {args.recipients} sent in {elapsed:.1f} s", flush=True)
            rate = sent / elapsed
            ceiling_rate = ceiling(campaign, links, smtp_port, args.ceiling_messages, config)
            print(f"ceiling: {args.ceiling_messages} messages at {ceiling_rate:.0f}/s", flush=True)
            old_rate = email_package_ceiling(campaign, smtp_port, args.ceiling_messages, config)
            print(
                f"reference: the same loop building with the email package: {old_rate:.0f}/s",
                flush=True,
            )
        finally:
            sink.terminate()
            sink.wait()
            database.engine and database.engine.dispose()
    print(
        f"msgs_per_s={rate:.0f} ceiling_msgs_per_s={ceiling_rate:.0f} "
        f"ratio={rate / ceiling_rate:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
