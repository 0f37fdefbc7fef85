"""What the benchmarks share: the services they start or borrow (a throwaway PostgreSQL
database, Redis, Dovecot), data made the way the product makes it (agents, mailboxes,
customers by CSV import, campaigns sent through the sending service's own steps), page
timing, and the exit status that says a service is missing (tests/test_benchmarks.py
turns it into the suite's skip, or a failure in CI)."""

from __future__ import annotations

import csv
import io
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from argon2 import PasswordHasher, profiles
from redis import Redis
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from helpdesk import embedded_redis
from helpdesk.auth import service as auth_service
from helpdesk.campaigns import service as campaigns_service
from helpdesk.campaigns.deliveries import claim_batch, mark_sent
from helpdesk.campaigns.sending import finish_if_done, start_sending
from helpdesk.config import Config
from helpdesk.customers import importer
from helpdesk.customers.models import Customer, ImportKind
from helpdesk.mail.service import create_mailbox
from tests.mail.dovecot import DOVECOT, dovecot_available, start_dovecot

POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# A benchmark that cannot find a service it needs ends with this status (sysexits.h:
# "a service is unavailable"), after one line on stderr saying which and why.
SERVICE_MISSING = os.EX_UNAVAILABLE
SERVICE_MISSING_TEXT = " is needed for this benchmark: "


def service_missing(name: str, problem: str) -> NoReturn:
    problem = " ".join(problem.split())
    print(f"{name}{SERVICE_MISSING_TEXT}{problem}", file=sys.stderr, flush=True)
    raise SystemExit(SERVICE_MISSING)


@contextmanager
def temporary_postgres_database(prefix: str, server_url: str = POSTGRES_URL) -> Iterator[str]:
    """A new, empty database on the server of `server_url`; yields its URL and drops it
    afterwards (connections still open to it included)."""
    admin_url = make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        service_missing("PostgreSQL", f"cannot reach {admin_url.render_as_string()}: {exc.orig}")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def benchmark_redis(tmp_dir: str) -> Iterator[str]:
    """REDIS_URL when set (its database is flushed: give the benchmark one nothing else
    uses), else the embedded Redis `helpdesk run` uses, started in `tmp_dir` for the run."""
    url = os.environ.get("REDIS_URL")
    if url:
        Redis.from_url(url).flushdb()
        yield url
        return
    socket_path = Path(tmp_dir) / "redis.sock"
    process = embedded_redis.start(Path(tmp_dir), socket_path)
    try:
        yield f"unix://{socket_path}"
    finally:
        process.terminate()
        process.wait()


@contextmanager
def dovecot_server(root: Path):
    """A throwaway Dovecot (the test suite's), stopped afterwards."""
    if not dovecot_available():
        service_missing("Dovecot", f"{DOVECOT} is not installed (apt-get install dovecot-imapd)")
    server = start_dovecot(root)
    try:
        yield server
    finally:
        server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def web_config(database_url: str, redis_url: str, instance_path: Path) -> Config:
    """The app as the benchmarks serve it to the Flask test client (no CSRF tokens to
    carry; no mail leaves)."""
    return Config(
        instance_path=instance_path,
        database_url=database_url,
        secret_key="bench",
        redis_url=redis_url,
        smtp_url="smtp://127.0.0.1:1",
        testing=True,
        csrf_enabled=False,
    )


def page_times(
    client,
    path_of: Callable[[], str],
    warmup: int,
    samples: int,
    check: Callable[[str, bytes], None] | None = None,
) -> list[float]:
    """Milliseconds per GET of `samples` requests after `warmup` unmeasured ones, each
    of a new `path_of()`. A non-200 answer ends the run; so can `check(path, body)`."""
    times = []
    for i in range(warmup + samples):
        path = path_of()
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}")
        if check is not None:
            check(path, response.data)
        if i >= warmup:
            times.append(elapsed)
    return times


def cheap_password_hashing() -> None:
    """Argon2's production cost (most of a second per hash on a busy machine) would make
    creating a few dozen agents the longest part of a run; nothing measured hashes a
    password, and the test suite's cheapest profile runs the same code."""
    auth_service._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)


def make_agents(session: Session, count: int, password: str) -> list[int]:
    """agent0@helpdesk.example ... by the users service, in Seoul time; their ids in order
    (call cheap_password_hashing first, or this takes most of a second per agent)."""
    ids = [
        auth_service.create_user(
            session,
            email=f"agent{i}@helpdesk.example",
            name=f"Agent {i:02d}",
            password=password,
            role="agent",
            timezone="Asia/Seoul",
        ).id
        for i in range(count)
    ]
    session.commit()
    return ids


def make_mailboxes(session: Session, names: Sequence[str]) -> list[int]:
    """Mailboxes without IMAP (<name>@helpdesk.example) by the mail service; ids in order."""
    ids = [
        create_mailbox(
            session,
            {"name": name, "address": f"{name.lower()}@helpdesk.example", "is_active": True},
        ).id
        for name in names
    ]
    session.commit()
    return ids


def import_customers(session: Session, rows: Sequence[Mapping[str, str]]) -> dict[str, int]:
    """Customers made by the product's CSV import (the plan, then its batches, each
    committed), from rows whose keys are the file's columns; returns their ids by email."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    plan = importer.plan_import(session, ImportKind.customers, out.getvalue().encode())
    if plan.errors:
        raise SystemExit(f"the customer import refused rows: {plan.errors[:3]}")
    importer.apply_plan(session, plan, after_batch=lambda _batch: session.commit())
    session.commit()
    return dict(session.execute(select(Customer.email, Customer.id)).tuples().all())


def make_campaign(session: Session, rules: Mapping, **content: str) -> int:
    """A segment with `rules` and a draft campaign for it (`content`: the campaign
    service's CampaignData fields), both by the campaigns service."""
    segment = campaigns_service.create_segment(
        session,
        campaigns_service.SegmentData(name=f"{content['name']} readers", rules=rules),
        user_id=None,
    )
    campaign = campaigns_service.create_campaign(
        session, campaigns_service.CampaignData(segment_id=segment.id, **content), user_id=None
    )
    session.commit()
    return campaign.id


def send_without_smtp(session: Session, campaign_id: int, at: datetime) -> list[int]:
    """Starts the campaign at `at` and records every delivery as accepted then, through
    the sending service's own steps (snapshot, claim, mark sent, finish) with no SMTP
    server: for benchmarks of what comes after the mail went out. Returns the
    deliveries' ids."""
    start_sending(session, campaign_id, at)
    worker, delivery_ids = "bench", []
    while claimed := claim_batch(session, campaign_id, worker, 1000, at):
        mark_sent(session, worker, [(i, f"<{i}@bench.example>", at) for i in claimed])
        session.commit()
        delivery_ids.extend(claimed)
    finish_if_done(session, campaign_id, at)
    session.commit()
    return delivery_ids
