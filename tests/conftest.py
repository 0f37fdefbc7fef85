"""Shared fixtures: the app on SQLite and PostgreSQL, a real Redis, a browser.

Every test that uses the database runs twice, once per database. In CI (CI=true) a
missing service fails the run with a clear message; elsewhere its tests are skipped.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from helpdesk import create_app
from helpdesk.config import Config
from helpdesk.db import database, make_engine
from helpdesk.models import metadata
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.helpers import free_port, login
from tests.smtp_support import ScriptedHandler, SMTPSink

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Each pytest-xdist worker gets its own Redis database, since tests flush it: databases
# TEST_REDIS_DB_BASE, BASE - 1, ... (two runs side by side need different bases).
_WORKER_INDEX = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_REDIS_DB = int(os.environ.get("TEST_REDIS_DB_BASE", "15")) - _WORKER_INDEX
REDIS_URL = os.environ.get("TEST_REDIS_URL", f"redis://127.0.0.1:6379/{_REDIS_DB}")
CHROMIUM = os.environ.get("TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing():
    """Argon2's production cost (~64 MiB, several rounds) per login would dominate the
    suite's run time; the cheapest profile exercises the same code paths."""
    from argon2 import PasswordHasher, profiles

    from helpdesk.auth import service

    production = service._hasher
    service._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    yield
    service._hasher = production


# Files whose tests --dist loadfile hands out one by one rather than as one unit: each
# is an independent subprocess of its own, and one worker running them all in a row
# would finish long after the other.
ONE_TEST_PER_UNIT = ("tests/test_benchmarks.py",)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return nodeid if scope in ONE_TEST_PER_UNIT else scope

    return Scheduling(config, log)


def require_service(name: str, problem: str):
    message = f"{name} is needed for this test: {problem}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


def _create_postgres_database() -> str:
    """A fresh database per test run, so the suite never touches data it did not make."""
    admin_url = make_url(POSTGRES_URL)
    name = f"helpdesk_test_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # any connection problem means the service is not usable
        require_service("PostgreSQL", f"cannot reach {admin_url.render_as_string()}: {exc}")
    return admin_url.set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(url: str) -> None:
    database.engine and database.engine.dispose()
    admin = create_engine(make_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _create_schema(url: str) -> None:
    # The models build the schema here; tests/test_migrations.py checks that the Alembic
    # revisions produce exactly the same schema on both databases.
    engine = make_engine(url)
    metadata.create_all(engine)
    engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        _create_schema(url)
        yield url
        return
    url = _create_postgres_database()
    _create_schema(url)
    yield url
    _drop_postgres_database(url)


@pytest.fixture
def empty_database_url(database_url, tmp_path):
    """A database with no tables yet, of the same kind as database_url."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    url = _create_postgres_database()
    yield url
    _drop_postgres_database(url)


def _empty_all_tables(url: str) -> None:
    engine = database.engine if database.engine is not None else make_engine(url)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def config(database_url, tmp_path) -> Config:
    return Config(
        instance_path=tmp_path / "instance",
        database_url=database_url,
        secret_key="test-secret-key",
        redis_url=REDIS_URL,
        smtp_url="smtp://127.0.0.1:1",
        public_url="http://helpdesk.test",
        testing=True,
    )


@pytest.fixture
def app(config):
    app = create_app(config)
    yield app
    _empty_all_tables(config.database_url)


@pytest.fixture
def session(app, database_url):
    """The test's own session. On SQLite it begins DEFERRED so that reading in a test does
    not hold the write lock while the test drives requests that write."""
    from sqlalchemy.orm import Session

    engine = make_engine(database_url, sqlite_begin="DEFERRED")
    session = Session(engine, expire_on_commit=False)
    yield session
    session.close()
    engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin(session):
    return make_user(session, role="admin", email="admin@example.com", name="Ada Admin")


@pytest.fixture
def agent(session):
    return make_user(session, role="agent", email="agent@example.com", name="Alex Agent")


@pytest.fixture
def marketer(session):
    return make_user(session, role="marketer", email="marketer@example.com", name="Mia Marketer")


@pytest.fixture
def admin_client(client, admin):
    login(client, admin.email)
    return client


@pytest.fixture
def agent_client(client, agent):
    login(client, agent.email)
    return client


@pytest.fixture
def marketer_client(client, marketer):
    login(client, marketer.email)
    return client


@pytest.fixture
def redis_conn():
    from redis import Redis
    from redis.exceptions import RedisError

    conn = Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except RedisError as exc:
        require_service("Redis", f"cannot reach {REDIS_URL}: {exc}")
    conn.flushdb()
    yield conn
    conn.flushdb()


@pytest.fixture
def live_server(app):
    """The app served by a real HTTP server in a thread, for the browser."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        require_service("Chromium", f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def open_as(browser, live_server, redis_conn):
    """A logged-in page for the given user, in its own browser context."""
    contexts = []

    def open_page(email: str, locale: str = "en-US"):
        context = browser.new_context(base_url=live_server, locale=locale)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto("/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", DEFAULT_PASSWORD)
        page.click("button[type=submit]")
        # Until the login's answer arrives the session cookie is not set: a page opened
        # sooner would cancel the login and land on the login page again.
        page.wait_for_url(lambda url: urlsplit(url).path != "/login")
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def smtp_handler():
    return ScriptedHandler()


@pytest.fixture
def smtp_sink(smtp_handler):
    with SMTPSink(smtp_handler) as sink:
        yield sink


@pytest.fixture
def worker_env(monkeypatch, config, smtp_sink, tmp_path):
    """Jobs read their settings from the environment, as in worker.py: point them at this
    test's database, Redis and SMTP server, with the app's secret so links verify."""
    values = {
        "DATABASE_URL": config.database_url,
        "REDIS_URL": REDIS_URL,
        "SMTP_URL": smtp_sink.url,
        "SECRET_KEY": config.secret_key,
        "PUBLIC_URL": "https://helpdesk.test",
        "HELPDESK_INSTANCE": str(tmp_path / "worker-instance"),
        "CAMPAIGN_RATE_PER_SECOND": "0",
        "CAMPAIGN_BATCH_SIZE": "50",
        "CAMPAIGN_CONCURRENCY": "2",
        "CAMPAIGN_RETRY_BASE_SECONDS": "0",
        "CAMPAIGN_MAX_ATTEMPTS": "5",
        "CAMPAIGN_MAX_CONSECUTIVE_FAILURES": "1000",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def smtp_relay(monkeypatch, smtp_sink, smtp_handler, tmp_path):
    """A real SMTP relay that jobs find through SMTP_URL, as in production; yields the
    handler holding what it received."""
    monkeypatch.setenv("SMTP_URL", smtp_sink.url)
    monkeypatch.setenv("HELPDESK_INSTANCE", str(tmp_path / "worker-instance"))
    monkeypatch.setenv("SECRET_KEY", "worker-secret")
    return smtp_handler
