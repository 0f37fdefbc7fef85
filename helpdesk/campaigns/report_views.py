"""Campaign report pages for marketers: figures, chart, links, comparison, CSV, progress."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, render_template
from flask_babel import gettext as _

from helpdesk.auth.permissions import MARKETING, roles_required
from helpdesk.campaigns import reports
from helpdesk.db import utcnow
from helpdesk.web import db_session

bp = Blueprint("campaign_reports", __name__)


def _campaign(campaign_id: int):
    try:
        return reports.get_campaign(db_session(), campaign_id)
    except reports.ReportNotFound:
        abort(404)


def current_figures(campaign_id: int) -> reports.CampaignFigures:
    """The figures as of now; deliveries in `sending` for longer than the lease count as
    stalled, the same cut-off workers use to mark them uncertain."""
    lease = timedelta(seconds=current_app.config["HELPDESK"].campaign_lease_seconds)
    return reports.campaign_figures(db_session(), campaign_id, stalled_before=utcnow() - lease)


@bp.get("/campaigns/<int:campaign_id>/report")
@roles_required(*MARKETING)
def report(campaign_id: int):
    session = db_session()
    campaign = _campaign(campaign_id)
    series = reports.activity_over_time(session, campaign_id)
    chart = reports.svg_chart(
        series, title=_("Opens and clicks over time"), labels=(_("Human opens"), _("Clicks"))
    )
    return render_template(
        "campaigns/report.html",
        campaign=campaign,
        figures=current_figures(campaign_id),
        chart=chart,
        links=reports.clicks_per_link(session, campaign_id),
        comparison=reports.segment_comparison(session, campaign_id),
    )


@bp.get("/campaigns/<int:campaign_id>/report/progress")
@roles_required(*MARKETING)
def progress(campaign_id: int):
    campaign = _campaign(campaign_id)
    return render_template(
        "campaigns/report_progress.html", campaign=campaign, figures=current_figures(campaign_id)
    )


@bp.get("/campaigns/<int:campaign_id>/report.csv")
@roles_required(*MARKETING)
def export(campaign_id: int):
    _campaign(campaign_id)
    # Built before the response starts: a streamed body would hold the request's database
    # transaction (and on SQLite the write lock) open for as long as the download runs.
    body = "".join(reports.deliveries_csv(db_session(), campaign_id))
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}.csv"'},
    )
