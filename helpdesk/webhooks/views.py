"""Admin pages for webhook endpoints: add (the secret is shown once), edit, rotate the
secret, pause, resume, delete; the delivery log with redeliver and a test event."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectMultipleField, StringField, widgets
from wtforms.validators import Length

from helpdesk import nav
from helpdesk.auth.models import Role
from helpdesk.auth.permissions import roles_required
from helpdesk.events.service import EVENT_TYPES
from helpdesk.web import db_session
from helpdesk.webhooks import jobs, service

bp = Blueprint("webhooks", __name__)
nav.add_setting(
    "webhooks.index",
    _l("Webhooks"),
    _l("Tell other systems about tickets, customers and campaigns as they change"),
    order=60,
)
LOG_SIZE = 50


class EndpointForm(FlaskForm):
    # Plain fields: the service checks every value, so the rules live in one place.
    url = StringField(_l("URL"), validators=[Length(max=2000)])
    description = StringField(_l("Description"), validators=[Length(max=500)])
    event_types = SelectMultipleField(
        _l("Events"),
        choices=[SelectChoice(t, t) for t in EVENT_TYPES],
        validate_choice=False,
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


def _config():
    return current_app.config["HELPDESK"]


def _data(form: EndpointForm) -> service.EndpointData:
    return service.EndpointData(
        url=form.url.data or "",
        description=form.description.data or "",
        event_types=form.event_types.data or [],
    )


def _show_errors(form: EndpointForm, exc: service.EndpointInvalid) -> None:
    for name, message in exc.errors.items():
        form[name].errors = [*form[name].errors, str(message)]


def _endpoint_or_404(session, endpoint_id: int):
    try:
        return service.get_endpoint(session, endpoint_id)
    except service.EndpointNotFound:
        abort(404)


@bp.get("/admin/webhooks")
@roles_required(Role.admin)
def index():
    session = db_session()
    return render_template(
        "webhooks/index.html",
        endpoints=service.list_endpoints(session),
        auto_paused=service.auto_paused_endpoints(session),
    )


@bp.route("/admin/webhooks/new", methods=["GET", "POST"])
@roles_required(Role.admin)
def new():
    form = EndpointForm()
    if form.validate_on_submit():
        session = db_session()
        allow = _config().webhooks_allow_private
        try:
            endpoint = service.create_endpoint(session, _data(form), allow_private=allow)
        except service.EndpointInvalid as exc:
            session.rollback()
            _show_errors(form, exc)
        else:
            session.commit()
            # Shown on this response only: the page after it never shows the secret again.
            return render_template("webhooks/secret.html", endpoint=endpoint, rotated=False)
    return render_template("webhooks/form.html", form=form), 400 if form.errors else 200


@bp.route("/admin/webhooks/<int:endpoint_id>", methods=["GET", "POST"])
@roles_required(Role.admin)
def edit(endpoint_id: int):
    session = db_session()
    endpoint = _endpoint_or_404(session, endpoint_id)
    form = EndpointForm(
        data={
            "url": endpoint.url,
            "description": endpoint.description,
            "event_types": service.event_types_of(session, endpoint.id),
        }
    )
    if form.validate_on_submit():
        allow = _config().webhooks_allow_private
        try:
            service.update_endpoint(session, endpoint.id, _data(form), allow_private=allow)
        except service.EndpointInvalid as exc:
            session.rollback()
            _show_errors(form, exc)
        else:
            session.commit()
            flash(_("Webhook endpoint saved."), "success")
            return redirect(url_for("webhooks.edit", endpoint_id=endpoint.id))
    return render_template(
        "webhooks/endpoint.html",
        form=form,
        endpoint=endpoint,
        action_form=ActionForm(),
        log=service.delivery_log(session, endpoint.id, limit=LOG_SIZE),
        total=service.count_deliveries(session, endpoint.id),
    ), 400 if form.errors else 200


def _action(endpoint_id: int, change, message: str, *, dispatch: bool = False):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    session = db_session()
    _endpoint_or_404(session, endpoint_id)
    change(session)
    session.commit()
    if dispatch:
        jobs.queue_dispatch(_config())
    flash(message, "success")
    return redirect(url_for("webhooks.edit", endpoint_id=endpoint_id))


@bp.post("/admin/webhooks/<int:endpoint_id>/rotate")
@roles_required(Role.admin)
def rotate(endpoint_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    session = db_session()
    _endpoint_or_404(session, endpoint_id)
    endpoint = service.rotate_secret(session, endpoint_id)
    session.commit()
    return render_template("webhooks/secret.html", endpoint=endpoint, rotated=True)


@bp.post("/admin/webhooks/<int:endpoint_id>/pause")
@roles_required(Role.admin)
def pause(endpoint_id: int):
    return _action(
        endpoint_id,
        lambda s: service.pause_endpoint(s, endpoint_id),
        _("Paused: events are kept and sent when you resume."),
    )


@bp.post("/admin/webhooks/<int:endpoint_id>/resume")
@roles_required(Role.admin)
def resume(endpoint_id: int):
    return _action(
        endpoint_id,
        lambda s: service.resume_endpoint(s, endpoint_id),
        _("Resumed: waiting events are being sent."),
        dispatch=True,
    )


@bp.post("/admin/webhooks/<int:endpoint_id>/test")
@roles_required(Role.admin)
def send_test(endpoint_id: int):
    return _action(
        endpoint_id,
        lambda s: service.send_test_event(s, endpoint_id),
        _("A test event is on its way."),
        dispatch=True,
    )


@bp.post("/admin/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver")
@roles_required(Role.admin)
def redeliver(endpoint_id: int, delivery_id: int):
    def change(session):
        try:
            service.redeliver(session, endpoint_id, delivery_id)
        except service.EndpointNotFound:
            abort(404)

    return _action(endpoint_id, change, _("The event will be sent again."), dispatch=True)


@bp.post("/admin/webhooks/<int:endpoint_id>/delete")
@roles_required(Role.admin)
def delete(endpoint_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    session = db_session()
    _endpoint_or_404(session, endpoint_id)
    service.delete_endpoint(session, endpoint_id)
    session.commit()
    flash(_("Webhook endpoint deleted."), "success")
    return redirect(url_for("webhooks.index"))
