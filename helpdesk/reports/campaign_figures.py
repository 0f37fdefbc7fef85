"""The latest campaigns side by side, each with its delivery figures and rates from one
grouped query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.campaigns.models import Campaign, Delivery, DeliveryState
from helpdesk.reports.queries import _count_if

CAMPAIGNS = 10


@dataclass(frozen=True)
class CampaignRow:
    campaign_id: int
    name: str
    started_at: datetime | None
    sent: int
    hard_bounces: int
    soft_bounces: int
    human_opens: int
    clicks: int
    unsubscribes: int
    complaints: int

    @property
    def bounces(self) -> int:
        return self.hard_bounces + self.soft_bounces

    @property
    def delivered(self) -> int:
        return max(0, self.sent - self.bounces)

    def _share(self, value: int, base: int) -> float | None:
        return value / base if base else None

    @property
    def open_rate(self) -> float | None:
        """Recipients who opened as people (not proxies), of those delivered."""
        return self._share(self.human_opens, self.delivered)

    @property
    def click_rate(self) -> float | None:
        return self._share(self.clicks, self.delivered)

    @property
    def unsubscribe_rate(self) -> float | None:
        return self._share(self.unsubscribes, self.delivered)

    @property
    def bounce_rate(self) -> float | None:
        return self._share(self.bounces, self.sent)


def latest_campaigns(session: Session, limit: int = CAMPAIGNS) -> list[CampaignRow]:
    """The campaigns that started sending most recently, oldest first, each with its
    delivery figures from one grouped query (rates as in the campaign report)."""
    latest = (
        select(Campaign.id)
        .where(Campaign.started_at.is_not(None))
        .order_by(Campaign.started_at.desc(), Campaign.id.desc())
        .limit(limit)
        .subquery()
    )
    rows = session.execute(
        select(
            Campaign.id,
            Campaign.name,
            Campaign.started_at,
            _count_if(Delivery.state == DeliveryState.sent),
            _count_if(Delivery.bounce_kind == "hard"),
            _count_if(Delivery.bounce_kind == "soft"),
            _count_if(Delivery.open_count > 0),
            _count_if(Delivery.first_clicked_at.is_not(None)),
            _count_if(Delivery.unsubscribed_at.is_not(None)),
            _count_if(Delivery.complained_at.is_not(None)),
        )
        .join(latest, latest.c.id == Campaign.id)
        .outerjoin(Delivery, Delivery.campaign_id == Campaign.id)
        .group_by(Campaign.id, Campaign.name, Campaign.started_at)
        .order_by(Campaign.started_at, Campaign.id)
    )
    return [CampaignRow(i, name, at, *(int(v) for v in rest)) for i, name, at, *rest in rows]
