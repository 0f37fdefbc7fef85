"""The customer's recent campaigns on the ticket page, listed by the campaigns package.

Campaigns build on tickets (segments of customers with open tickets), so tickets cannot
import them; helpdesk.campaigns.reports registers the function that lists a customer's
recent campaigns when it is imported, as it registers its timeline entries.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

RecentCampaigns = Callable[[Session, int], list]
_recent_campaigns: RecentCampaigns | None = None


def register_recent_campaigns(fn: RecentCampaigns) -> RecentCampaigns:
    """Set (or replace, so re-imports stay harmless) the function that lists them."""
    global _recent_campaigns
    _recent_campaigns = fn
    return fn


def recent_campaigns(session: Session, customer_id: int) -> list:
    """The latest campaigns sent to the customer; none while no campaigns are registered."""
    if _recent_campaigns is None:
        return []
    return _recent_campaigns(session, customer_id)
