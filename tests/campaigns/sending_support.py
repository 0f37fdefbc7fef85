"""Running campaign jobs the way worker.py does, in the test's own process."""

from __future__ import annotations

from rq import SimpleWorker

from helpdesk.queue import CAMPAIGN_QUEUE
from helpdesk.worker import QuickUnsubscribe


class _CampaignWorker(QuickUnsubscribe, SimpleWorker):
    """Stops without RQ's up-to-60 s wait for its pubsub thread."""


def run_campaign_jobs(redis_conn) -> None:
    """What a worker does with the campaign queue, in this process, until it is empty."""
    _CampaignWorker([CAMPAIGN_QUEUE], connection=redis_conn).work(burst=True)
