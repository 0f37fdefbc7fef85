"""Campaign fixtures: a scriptable SMTP server and the environment a worker reads."""

from __future__ import annotations

import pytest

from tests.campaigns.sending_support import ScriptedHandler, SMTPSink
from tests.conftest import REDIS_URL


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


@pytest.fixture(autouse=True)
def forget_cached_links():
    """Tests empty the tables and reuse campaign ids, which a real database never does;
    the web process's copy of campaign links must not outlive a test."""
    from helpdesk.campaigns import tracking_views

    tracking_views._links.clear()
    yield
    tracking_views._links.clear()
