"""Admin settings for the queues: response targets (SLA) and who is away."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select

from helpdesk import nav
from helpdesk.auth.models import Role
from helpdesk.auth.permissions import roles_required
from helpdesk.db import utcnow
from helpdesk.mail.models import Mailbox
from helpdesk.tickets import assignment, sla
from helpdesk.tickets.models import Priority
from helpdesk.web import bounded_int, db_session

bp = Blueprint("ticket_settings", __name__)
nav.add_setting(
    "ticket_settings.sla",
    _l("Response targets"),
    _l("First and next response times per mailbox and priority, business hours"),
    order=40,
)
nav.add_setting(
    "ticket_settings.agents",
    _l("Agent availability"),
    _l("Who is away, and automatic assignment per mailbox"),
    order=45,
)

WEEKDAYS = [_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun")]


def _hours(minutes: int) -> str:
    return f"{minutes / 60:g}"


@bp.get("/admin/sla", endpoint="sla")
@roles_required(Role.admin)
def sla_index():
    session = db_session()
    mailboxes = list(session.scalars(select(Mailbox).order_by(Mailbox.name)))
    scopes = [(None, sla.policy_rows(session, None))] + [
        (m, sla.policy_rows(session, m.id)) for m in mailboxes
    ]
    return render_template(
        "tickets/queue_settings_sla.html",
        scopes=scopes,
        hours=_hours,
        business_hours_of=sla.business_hours_of,
        weekdays=WEEKDAYS,
    )


def _mailbox_or_404(session, scope: str) -> Mailbox | None:
    if scope == "default":
        return None
    mailbox_id = bounded_int(scope)
    if mailbox_id is None:
        abort(404)
    return session.get(Mailbox, mailbox_id) or abort(404)


@bp.route("/admin/sla/<scope>", methods=["GET", "POST"])
@roles_required(Role.admin)
def sla_edit(scope: str):
    session = db_session()
    mailbox = _mailbox_or_404(session, scope)
    mailbox_id = mailbox.id if mailbox else None
    errors: dict[str, object] = {}
    values = _form_values(session, mailbox)
    if request.method == "POST":
        values = request.form
        targets, hours = _parse_form(values, mailbox is not None, errors)
        if not errors:
            try:
                changed = sla.save_policies(session, mailbox_id, targets, hours, utcnow())
            except sla.SLAInvalid as exc:
                session.rollback()
                errors.update(exc.errors)
            else:
                session.commit()
                flash(
                    ngettext(
                        "Response targets saved; %(num)d waiting ticket got a new due time.",
                        "Response targets saved; %(num)d waiting tickets got a new due time.",
                        changed,
                    ),
                    "success",
                )
                return redirect(url_for("ticket_settings.sla"))
    return render_template(
        "tickets/queue_settings_sla_form.html",
        mailbox=mailbox,
        values=values,
        errors=errors,
        priorities=list(Priority),
        weekdays=WEEKDAYS,
    ), 400 if errors else 200


def _form_values(session, mailbox: Mailbox | None) -> dict:
    values: dict[str, object] = {}
    for row in sla.policy_rows(session, mailbox.id if mailbox else None):
        values[f"first_{row.priority.value}"] = _hours(row.targets.first_response_minutes)
        values[f"next_{row.priority.value}"] = _hours(row.targets.next_response_minutes)
    hours = sla.business_hours_of(mailbox)
    values["business_hours"] = "1" if hours else ""
    values["timezone"] = hours.timezone if hours else "Asia/Seoul"
    values["days"] = [str(d) for d in (hours.days if hours else range(5))]
    values["start"] = hours.start.strftime("%H:%M") if hours else "09:00"
    values["end"] = hours.end.strftime("%H:%M") if hours else "18:00"
    return _MultiDict(values)


class _MultiDict(dict):
    """Lets the template read stored values and a posted form the same way."""

    def getlist(self, key):
        value = self.get(key, [])
        return value if isinstance(value, list) else [value]


def _parse_form(form, for_mailbox: bool, errors: dict[str, object]):
    targets: dict[Priority, sla.Targets] = {}
    for priority in Priority:
        minutes = {}
        for kind in ("first", "next"):
            name = f"{kind}_{priority.value}"
            try:
                minutes[kind] = sla.parse_minutes(form.get(name, ""), name)
            except sla.SLAInvalid as exc:
                errors.update(exc.errors)
        if len(minutes) == 2:
            targets[priority] = sla.Targets(minutes["first"], minutes["next"])
    hours = None
    if for_mailbox and form.get("business_hours"):
        try:
            hours = sla.parse_business_hours(
                form.get("timezone", ""),
                form.getlist("days"),
                form.get("start", ""),
                form.get("end", ""),
            )
        except sla.SLAInvalid as exc:
            errors.update(exc.errors)
    return targets, hours


@bp.get("/admin/agents")
@roles_required(Role.admin)
def agents():
    session = db_session()
    return render_template(
        "tickets/queue_settings_agents.html",
        staff=assignment.staff_availability(session),
        mailboxes=list(session.scalars(select(Mailbox).order_by(Mailbox.name))),
    )


@bp.post("/admin/agents/<int:user_id>/availability")
@roles_required(Role.admin)
def set_availability(user_id: int):
    session = db_session()
    try:
        user = assignment.set_availability(session, user_id, request.form.get("available") == "1")
    except assignment.UnknownAgent:
        abort(404)
    session.commit()
    flash(
        _("%(name)s is available.", name=user.name)
        if user.is_available
        else _("%(name)s is away.", name=user.name),
        "success",
    )
    return redirect(url_for("ticket_settings.agents"))


@bp.post("/admin/mailboxes/<int:mailbox_id>/auto-assign")
@roles_required(Role.admin)
def set_auto_assign(mailbox_id: int):
    session = db_session()
    mailbox = assignment.set_auto_assign(
        session, mailbox_id, request.form.get("auto_assign") == "1"
    )
    if mailbox is None:
        abort(404)
    session.commit()
    flash(
        _("New tickets of %(name)s are assigned automatically.", name=mailbox.name)
        if mailbox.auto_assign
        else _("New tickets of %(name)s wait in Unassigned.", name=mailbox.name),
        "success",
    )
    return redirect(url_for("ticket_settings.agents"))
