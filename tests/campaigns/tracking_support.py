"""Signed tracking paths for a delivery, as the sender puts them into a message."""

from __future__ import annotations

from urllib.parse import urlsplit

from helpdesk.campaigns.tracking import tracking_urls

SECRET = "test-secret-key"


def paths(delivery):
    urls = tracking_urls("http://helpdesk.test", SECRET, delivery.token)
    return {
        "open": urlsplit(urls.open_url).path,
        "unsubscribe": urlsplit(urls.unsubscribe_url).path,
        "view": urlsplit(urls.view_in_browser_url).path,
        "click": lambda position: urlsplit(urls.click_url(position)).path,
    }
