"""Signed tracking paths for a delivery, as the sender puts them into a message, and the
flush job that counts what the tracking views buffered in Redis."""

from __future__ import annotations

from urllib.parse import urlsplit

from rq import SimpleWorker

from helpdesk.campaigns.tracking import tracking_urls
from helpdesk.queue import DEFAULT_QUEUE

SECRET = "test-secret-key"


def paths(delivery, *, with_campaign: bool = True):
    """`with_campaign=False` gives click links as mailed before they carried the
    campaign id."""
    campaign_id = delivery.campaign_id if with_campaign else None
    urls = tracking_urls("http://helpdesk.test", SECRET, delivery.token, campaign_id)
    return {
        "open": urlsplit(urls.open_url).path,
        "unsubscribe": urlsplit(urls.unsubscribe_url).path,
        "view": urlsplit(urls.view_in_browser_url).path,
        "click": lambda position: urlsplit(urls.click_url(position)).path,
    }


def run_tracking_jobs(redis_conn) -> None:
    """What a worker does with the jobs the tracking views queued, until none is left."""
    SimpleWorker([DEFAULT_QUEUE], connection=redis_conn).work(burst=True)
