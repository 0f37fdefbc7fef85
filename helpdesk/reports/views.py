"""Dashboard pages: the team dashboard for admins and managers, its live "now" fragment,
the campaign results marketers may open, and CSV exports."""

from __future__ import annotations

import logging
from functools import wraps

from flask import (
    Blueprint,
    Response,
    abort,
    render_template,
    request,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from helpdesk import charts, nav
from helpdesk.auth.models import Role
from helpdesk.auth.permissions import roles_required
from helpdesk.db import utcnow
from helpdesk.reports import campaign_figures, periods, queue_now, service
from helpdesk.text import LazyText
from helpdesk.web import db_session

log = logging.getLogger(__name__)

bp = Blueprint("dashboard", __name__)


def _is_manager(user) -> bool:
    return user.role == Role.admin or (user.role == Role.agent and user.is_manager)


nav.add_main("dashboard.index", _l("Dashboard"), [Role.admin, Role.agent], 5, when=_is_manager)
nav.add_main("dashboard.campaigns", _l("Results"), [Role.marketer], order=35)


def managers_only(*extra_roles: Role):
    """Admins and agents marked as managers (plus `extra_roles`); others get 403."""

    def decorator(view):
        @wraps(view)
        def checked(*args, **kwargs):
            if current_user.role == Role.agent and not current_user.is_manager:
                abort(403)
            return view(*args, **kwargs)

        return roles_required(Role.admin, Role.agent, *extra_roles)(checked)

    return decorator


def _zone():
    return periods.user_zone(current_user.timezone)


def _scope() -> periods.Scope:
    now = utcnow()
    zone = _zone()
    return periods.parse_scope(
        db_session(),
        request.args.get("from"),
        request.args.get("to"),
        request.args.get("mailbox"),
        zone=zone,
        today=periods.local_today(now, zone),
    )


def _mailboxes():
    return periods.mailbox_choices(db_session())


def _filter_values() -> dict[str, str]:
    return {k: request.args.get(k, "")[:40] for k in ("from", "to", "mailbox")}


def _bad_request(errors: dict[str, LazyText], template: str, **context):
    messages = {field: str(m) for field, m in errors.items()}
    body = render_template(
        template,
        errors=messages,
        values=_filter_values(),
        mailboxes=_mailboxes(),
        data=None,
        now=None,
        charts={},
        **context,
    )
    return body, 400


def _hours(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 3600:
        return _("%(n).0f min", n=seconds / 60)
    if seconds < 48 * 3600:
        return _("%(n).1f h", n=seconds / 3600)
    return _("%(n).1f days", n=seconds / 86400)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


@bp.app_template_filter("dashboard_duration")
def duration_filter(seconds: float | None) -> str:
    return _hours(seconds)


@bp.app_template_filter("dashboard_percent")
def percent_filter(value: float | None) -> str:
    return _percent(value)


def _team_charts(data: service.TeamDashboard) -> dict[str, str]:
    days = [d.day.strftime("%m-%d") for d in data.volume]
    hours = data.hours.by_hour
    campaigns = data.campaigns
    return {
        "volume": charts.bar_chart(
            days,
            [
                charts.Series(_("New"), [d.new for d in data.volume]),
                charts.Series(_("Resolved"), [d.resolved for d in data.volume]),
            ],
            title=_("Tickets per day: new and resolved"),
            x_title=_("Day (%(zone)s)", zone=data.scope.range.zone.key),
            y_title=_("Tickets"),
            description=_(
                "%(new)d new and %(resolved)d resolved tickets from %(first)s to %(last)s.",
                new=sum(d.new for d in data.volume),
                resolved=sum(d.resolved for d in data.volume),
                first=data.scope.range.first_day.isoformat(),
                last=data.scope.range.last_day.isoformat(),
            ),
        ),
        "hours": charts.bar_chart(
            [f"{h:02d}" for h in range(24)],
            [charts.Series(_("New tickets"), hours)],
            title=_("Busiest hours: new tickets by hour of day"),
            x_title=_("Hour of day (%(zone)s)", zone=data.scope.range.zone.key),
            y_title=_("Tickets"),
        ),
        "campaigns": _campaign_chart(campaigns),
    }


def _campaign_chart(campaigns: list[campaign_figures.CampaignRow]) -> str:
    return charts.line_chart(
        [c.name[:16] for c in campaigns],
        [
            charts.Series(_("Open rate"), [100 * (c.open_rate or 0) for c in campaigns]),
            charts.Series(_("Click rate"), [100 * (c.click_rate or 0) for c in campaigns]),
        ],
        title=_("Open and click rates of the latest campaigns"),
        x_title=_("Campaign, oldest first"),
        y_title=_("Share of delivered messages (percent)"),
        unit="%",
    )


@bp.get("/dashboard")
@managers_only()
def index():
    session = db_session()
    try:
        scope = _scope()
    except periods.DashboardInputError as error:
        return _bad_request(error.errors, "dashboard/index.html")
    now = utcnow()
    data = service.team_dashboard(session, scope, now)
    figures = queue_now.now_figures(
        session, now=now, zone=scope.range.zone, mailbox_id=scope.mailbox_id
    )
    return render_template(
        "dashboard/index.html",
        errors={},
        values={
            "from": scope.range.first_day.isoformat(),
            "to": scope.range.last_day.isoformat(),
            "mailbox": str(scope.mailbox_id or ""),
        },
        mailboxes=_mailboxes(),
        data=data,
        now=figures,
        charts=_team_charts(data),
        weekdays=_weekday_names(),
    )


def _weekday_names() -> list[str]:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


@bp.get("/dashboard/now")
@managers_only()
def now():
    try:
        scope = _scope()
    except periods.DashboardInputError as error:
        return " ".join(str(m) for m in error.errors.values()), 400
    figures = queue_now.now_figures(
        db_session(), now=utcnow(), zone=scope.range.zone, mailbox_id=scope.mailbox_id
    )
    return render_template("dashboard/_now.html", now=figures, zone=scope.range.zone.key)


def _csv_response(body: str, name: str, scope: periods.Scope) -> Response:
    r = scope.range
    filename = f"dashboard-{name}-{r.first_day.isoformat()}-{r.last_day.isoformat()}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/dashboard/<name>.csv")
@managers_only()
def export(name: str):
    if name not in service.TEAM_TABLES:
        abort(404)
    try:
        scope = _scope()
    except periods.DashboardInputError as error:
        return " ".join(str(m) for m in error.errors.values()), 400
    body = service.export_csv(db_session(), name, scope, utcnow())
    return _csv_response(body, name, scope)


@bp.get("/dashboard/campaigns")
@managers_only(Role.marketer)
def campaigns():
    rows = campaign_figures.latest_campaigns(db_session())
    return render_template("dashboard/campaigns.html", campaigns=rows, chart=_campaign_chart(rows))


@bp.get("/dashboard/campaigns.csv")
@managers_only(Role.marketer)
def campaigns_export():
    today = periods.local_today(utcnow(), _zone()).isoformat()
    return Response(
        service.campaigns_csv(db_session()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="campaigns-{today}.csv"'},
    )
