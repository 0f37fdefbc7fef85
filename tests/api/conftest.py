"""The API served by gunicorn in its own process, as in production, on the test database;
tests talk to it over real HTTP."""

from __future__ import annotations

import os
import subprocess
import time

import httpx
import pytest

from helpdesk.cli import web_server_argv
from tests.conftest import REDIS_URL
from tests.helpers import free_port


@pytest.fixture(scope="session")
def api_server(database_url, tmp_path_factory):
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "test-secret-key",
        "HELPDESK_INSTANCE": str(tmp_path_factory.mktemp("api-instance")),
        "PUBLIC_URL": "http://helpdesk.test",
    }
    process = subprocess.Popen(
        web_server_argv(f"127.0.0.1:{port}", "--graceful-timeout", "5", workers=1, threads=8),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/api/v1/openapi.json").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"gunicorn did not start: {process.stderr.read().decode()}")
        time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def api(api_server, app, redis_conn):
    """An HTTP client of the live API; the app fixture empties the tables afterwards and
    redis_conn resets the rate-limit counters."""
    with httpx.Client(base_url=f"{api_server}/api/v1", timeout=30) as client:
        yield client


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
