"""Survey pages: each mailbox's survey settings (admins), the CSAT dashboard (managers),
and the public pages a customer reaches from the survey mail.

The public pages follow the unsubscribe link's pattern: the signed link is what
authorizes them (there is no login and, from a mail client, no session to carry a CSRF
token), a GET only shows a page, so link scanners that fetch every link in a mail record
nothing, and a POST records.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from helpdesk.auth.models import Role
from helpdesk.auth.permissions import public, roles_required
from helpdesk.db import utcnow
from helpdesk.mail.models import Mailbox
from helpdesk.reports import periods
from helpdesk.reports.views import managers_only
from helpdesk.surveys import display, report, service
from helpdesk.surveys.models import BadRatingAction, Rating
from helpdesk.web import csrf, db_session

bp = Blueprint("surveys", __name__)
public_bp = Blueprint("survey_links", __name__)


def _action_labels() -> dict[BadRatingAction, str]:
    return {
        BadRatingAction.nothing: _("Nothing"),
        BadRatingAction.reopen: _("Reopen the ticket"),
        BadRatingAction.notify_assignee: _("Notify the assignee"),
    }


def _settings_values(settings) -> dict[str, str]:
    return {
        "enabled": "1" if settings.enabled else "",
        "delay_hours": f"{settings.delay_minutes / 60:g}",
        "question_en": settings.question_en,
        "question_ko": settings.question_ko,
        "quiet_days": str(settings.quiet_days),
        "bad_rating_action": settings.bad_rating_action.value,
    }


@bp.route("/admin/mailboxes/<int:mailbox_id>/survey", methods=["GET", "POST"])
@roles_required(Role.admin)
def settings(mailbox_id: int):
    session = db_session()
    mailbox = session.get(Mailbox, mailbox_id) or abort(404)
    errors: dict[str, str] = {}
    values = _settings_values(service.settings_of(session, mailbox.id))
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in values}
        try:
            data = service.parse_settings(request.form)
        except service.SurveyInvalid as exc:
            errors = {name: str(message) for name, message in exc.errors.items()}
        else:
            service.save_settings(session, mailbox.id, data, utcnow())
            session.commit()
            flash(_("Survey settings saved."), "success")
            return redirect(url_for("surveys.settings", mailbox_id=mailbox.id))
    return render_template(
        "surveys/settings.html",
        mailbox=mailbox,
        values=values,
        errors=errors,
        actions=_action_labels(),
    ), 400 if errors else 200


@bp.get("/dashboard/satisfaction")
@managers_only()
def dashboard():
    session = db_session()
    now = utcnow()
    zone = periods.user_zone(current_user.timezone)
    values = {k: request.args.get(k, "")[:40] for k in ("from", "to", "mailbox")}
    mailboxes = periods.mailbox_choices(session)
    try:
        scope = periods.parse_scope(
            session,
            request.args.get("from"),
            request.args.get("to"),
            request.args.get("mailbox"),
            zone=zone,
            today=periods.local_today(now, zone),
        )
    except periods.DashboardInputError as error:
        errors = {field: str(message) for field, message in error.errors.items()}
        page = render_template(
            "surveys/dashboard.html",
            errors=errors,
            values=values,
            mailboxes=mailboxes,
            data=None,
            ratings=display.RATING_NAMES,
        )
        return page, 400
    data = report.csat_report(session, scope, unassigned=_("Unassigned"))
    return render_template(
        "surveys/dashboard.html",
        errors={},
        values={
            "from": scope.range.first_day.isoformat(),
            "to": scope.range.last_day.isoformat(),
            "mailbox": str(scope.mailbox_id or ""),
        },
        mailboxes=mailboxes,
        data=data,
        ratings=display.RATING_NAMES,
    )


# --- the customer's pages ------------------------------------------------------------


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _link_error(exc: LookupError) -> Response:
    if isinstance(exc, service.SurveyLinkExpired):
        message, status = _("This survey link has expired. Thank you all the same."), 410
    else:
        message, status = _("This survey link is not valid. Please use the link in our mail."), 404
    page = render_template("surveys/public/link_error.html", message=message)
    return _no_store(Response(page, status=status))


def _survey_page(signed: str, survey, *, error: str = "", chosen: str = "", status: int = 200):
    session = db_session()
    questions = service.questions_of(session, survey)
    language = "ko" if str(get_locale() or "").startswith("ko") else "en"
    page = render_template(
        "surveys/public/rate.html",
        signed=signed,
        survey=survey,
        question=questions[language],
        ratings=display.RATING_NAMES,
        chosen=chosen,
        error=error,
        max_comment=service.MAX_COMMENT,
    )
    return _no_store(Response(page, status=status))


@public_bp.route("/s/<signed>", methods=["GET", "POST"])
@public
def rate(signed: str):
    session = db_session()
    try:
        survey = service.survey_of_link(session, signed=signed, secret_key=_secret())
    except (service.SurveyLinkInvalid, service.SurveyLinkExpired) as exc:
        return _link_error(exc)
    if request.method != "POST":
        # GET and HEAD come from customers and link scanners alike: the page asks.
        chosen = request.args.get("rating", "")
        return _survey_page(signed, survey, chosen=chosen if chosen in set(Rating) else "")
    try:
        service.record_rating(session, _secret(), signed, request.form.get("rating"), utcnow())
    except service.SurveyInvalid as exc:
        session.rollback()
        return _survey_page(signed, survey, error=str(exc.errors["rating"]), status=400)
    session.commit()
    return redirect(url_for("survey_links.rate", signed=signed), code=303)


@public_bp.post("/s/<signed>/comment")
@public
def comment(signed: str):
    session = db_session()
    try:
        survey = service.survey_of_link(session, signed=signed, secret_key=_secret())
    except (service.SurveyLinkInvalid, service.SurveyLinkExpired) as exc:
        return _link_error(exc)
    try:
        service.record_comment(session, _secret(), signed, request.form.get("comment"), utcnow())
    except service.SurveyInvalid as exc:
        session.rollback()
        session.refresh(survey)
        return _survey_page(signed, survey, error=str(exc.errors["comment"]), status=400)
    session.commit()
    return _no_store(Response(render_template("surveys/public/thanks.html")))


def _secret() -> str:
    return current_app.config["HELPDESK"].secret_key


# The signed link authorizes these POSTs, as it does the unsubscribe button's.
csrf.exempt(rate)
csrf.exempt(comment)
