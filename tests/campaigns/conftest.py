"""Campaign fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def forget_cached_links():
    """Tests empty the tables and reuse campaign ids, which a real database never does;
    the web process's copy of campaign links must not outlive a test."""
    from helpdesk.campaigns import tracking_views

    tracking_views._links.clear()
    yield
    tracking_views._links.clear()
