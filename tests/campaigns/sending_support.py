"""Running campaign jobs the way worker.py does, in the test's own process."""

from __future__ import annotations

from rq import SimpleWorker

from helpdesk.queue import CAMPAIGN_QUEUE


def run_campaign_jobs(redis_conn) -> None:
    """What a worker does with the campaign queue, in this process, until it is empty."""
    SimpleWorker([CAMPAIGN_QUEUE], connection=redis_conn).work(burst=True)
