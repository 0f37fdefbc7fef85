"""worker.py, started for real: it runs queued jobs against the configured database."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from helpdesk.config import PROJECT_ROOT
from helpdesk.customers.models import Tag
from helpdesk.queue import CAMPAIGN_QUEUE, DEFAULT_QUEUE, IMPORT_QUEUE, MAIL_QUEUE
from helpdesk.worker import HelpdeskWorker
from tests.conftest import REDIS_URL


def run_worker_burst(tmp_path, database_url) -> subprocess.CompletedProcess:
    env = os.environ | {
        "REDIS_URL": REDIS_URL,
        "DATABASE_URL": database_url,
        "HELPDESK_INSTANCE": str(tmp_path / "instance"),
        "SECRET_KEY": "worker-test-secret",
    }
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "worker.py"), "--burst"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_worker_runs_a_queued_job_against_the_configured_database(
    session, redis_conn, database_url, tmp_path
):
    Queue(DEFAULT_QUEUE, connection=redis_conn).enqueue("tests.ops.jobs.add_tag", "from-worker")
    result = run_worker_burst(tmp_path, database_url)
    assert result.returncode == 0, result.stderr
    session.rollback()
    assert session.scalar(select(Tag.name).where(Tag.name == "from-worker")) == "from-worker"


def test_every_job_of_a_forking_worker_reaches_the_database(redis_conn, database_url, tmp_path):
    queue = Queue(DEFAULT_QUEUE, connection=redis_conn)
    for n in range(3):
        queue.enqueue("tests.ops.jobs.count_tags_repeatedly", f"job-{n}")

    result = run_worker_burst(tmp_path, database_url)

    assert result.returncode == 0, result.stderr
    assert FailedJobRegistry(queue=queue).get_job_ids() == []
    runs = [item.decode() for item in redis_conn.lrange("tests:ops:runs", 0, -1)]
    assert runs == ["job-0", "job-1", "job-2"]


def test_worker_takes_mail_before_campaigns_and_imports(redis_conn, tmp_path):
    for queue_name in (IMPORT_QUEUE, CAMPAIGN_QUEUE, MAIL_QUEUE):
        Queue(queue_name, connection=redis_conn).enqueue("tests.ops.jobs.record_run", queue_name)
    result = run_worker_burst(tmp_path, f"sqlite:///{tmp_path / 'unused.db'}")
    assert result.returncode == 0, result.stderr
    runs = [item.decode() for item in redis_conn.lrange("tests:ops:runs", 0, -1)]
    assert runs == [MAIL_QUEUE, CAMPAIGN_QUEUE, IMPORT_QUEUE]


def test_a_stopping_worker_does_not_wait_out_its_pubsub_threads_sleep(redis_conn, config):
    worker = HelpdeskWorker(config)
    worker.subscribe()
    # The losing side of the race at a stop: the thread has already read an
    # unsubscription and sleeps until a new subscription or 60 s.
    worker.pubsub.unsubscribe()
    time.sleep(0.5)

    started = time.monotonic()
    worker.unsubscribe()

    assert time.monotonic() - started < 5
