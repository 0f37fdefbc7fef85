"""/campaigns (campaigns:read): campaigns in cursor pages, and one campaign with its report
figures (delivery states, bounces, opens, clicks per link, unsubscribes, complaints) from
helpdesk.campaigns.reports, as the report page shows them."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from pydantic import BaseModel, Field

from helpdesk.api.pagination import PageQuery, page_model
from helpdesk.api.routing import api_route, cursor_page, not_found
from helpdesk.campaigns import reports, service
from helpdesk.campaigns.models import Campaign, CampaignStatus
from helpdesk.db import utcnow
from helpdesk.web import db_session

TAG = "campaigns"


class CampaignOut(BaseModel):
    id: int
    name: str
    subject: str
    from_name: str
    from_email: str
    segment_id: int | None
    status: CampaignStatus
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    total_recipients: int
    created_at: datetime
    updated_at: datetime


class FiguresOut(BaseModel):
    recipients: int
    pending: int
    sending: int
    stalled: int = Field(description="Sending for longer than a worker's lease.")
    sent: int
    failed: int
    uncertain: int
    skipped: int
    delivered: int = Field(description="Sent minus bounced.")
    hard_bounces: int
    soft_bounces: int
    human_opens: int = Field(description="Recipients who opened it (not by a proxy).")
    machine_opens: int
    unique_clicks: int
    unsubscribes: int
    complaints: int
    deferred_by_cap: int = Field(description="Held back by the frequency cap, sent later.")
    deferred_by_quiet_hours: int = Field(description="Held back by quiet hours, sent later.")
    skipped_by_cap: int = Field(description="Not sent: the frequency cap held them back.")
    skipped_by_quiet_hours: int = Field(description="Not sent: quiet hours held them back.")
    open_rate: float = Field(description="human_opens / delivered.")
    click_rate: float = Field(description="unique_clicks / delivered.")
    progress: float = Field(description="Share of recipients whose delivery has ended.")


class LinkClicksOut(BaseModel):
    url: str
    clicks: int
    unique_clicks: int


class CampaignReportOut(CampaignOut):
    figures: FiguresOut
    links: list[LinkClicksOut]


class CampaignListQuery(PageQuery):
    status: CampaignStatus | None = None


CampaignPage = page_model(CampaignOut)


def campaign_out(campaign: Campaign) -> CampaignOut:
    return CampaignOut.model_validate(campaign, from_attributes=True)


def _figures(figures: reports.CampaignFigures) -> FiguresOut:
    return FiguresOut(
        **{name: getattr(figures, name) for name in reports.CampaignFigures.__dataclass_fields__},
        delivered=figures.delivered,
        open_rate=figures.rate(figures.human_opens),
        click_rate=figures.rate(figures.unique_clicks),
        progress=figures.progress,
    )


@api_route(
    "GET",
    "/campaigns",
    tag=TAG,
    summary="List campaigns",
    scope="campaigns:read",
    query=CampaignListQuery,
    response=CampaignPage,
)
def list_campaigns(query: CampaignListQuery):
    """In id order, of one status if given."""
    return cursor_page(
        CampaignPage,
        "campaigns",
        query,
        lambda after, limit: service.campaigns_after(db_session(), after, limit, query.status),
        campaign_out,
    )


@api_route(
    "GET",
    "/campaigns/<int:campaign_id>",
    tag=TAG,
    summary="Get a campaign with its report figures",
    scope="campaigns:read",
    response=CampaignReportOut,
)
def get_campaign(campaign_id: int):
    """The figures as of now, as on the report page."""
    session = db_session()
    try:
        campaign = reports.get_campaign(session, campaign_id)
    except reports.ReportNotFound:
        raise not_found("campaign", campaign_id) from None
    # Deliveries sending for longer than the lease count as stalled, the cut-off workers
    # use to mark them uncertain.
    lease = timedelta(seconds=current_app.config["HELPDESK"].campaign_lease_seconds)
    figures = reports.campaign_figures(session, campaign_id, stalled_before=utcnow() - lease)
    return CampaignReportOut(
        **campaign_out(campaign).model_dump(),
        figures=_figures(figures),
        links=[
            LinkClicksOut(url=link.url, clicks=link.clicks, unique_clicks=link.unique_clicks)
            for link in reports.clicks_per_link(session, campaign_id)
        ],
    )
