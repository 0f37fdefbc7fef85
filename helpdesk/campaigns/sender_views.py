"""Sender settings for marketers and admins: the advertising sender and night-time rule,
and the sending identities (add, confirm by mail, make default, remove)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, StringField
from wtforms.validators import Length

from helpdesk.auth.permissions import MARKETING, public, roles_required
from helpdesk.campaigns import advertising, identities, identity_jobs
from helpdesk.db import utcnow
from helpdesk.web import db_session

bp = Blueprint("senders", __name__)


class MarketingSettingsForm(FlaskForm):
    sender_name = StringField(_l("Sender name"), validators=[Length(max=200)])
    sender_contact = StringField(
        _l("Sender contact"),
        description=_l("Address and phone number shown in the footer of advertising mail."),
        validators=[Length(max=500)],
    )
    night_mode = RadioField(
        _l("Advertising between 21:00 and 08:00 (Korea time)"),
        choices=[
            SelectChoice("defer", _l("Hold it until 08:00")),
            SelectChoice(
                "consent", _l("Send only to customers with night-time consent; hold the rest")
            ),
        ],
        validate_choice=False,
    )


class IdentityForm(FlaskForm):
    email = StringField(_l("From address"), validators=[Length(max=320)])
    name = StringField(_l("From name"), validators=[Length(max=200)])
    reply_to = StringField(_l("Reply-to"), validators=[Length(max=320)])


class ConfirmForm(FlaskForm):
    pass


def _page(settings_form=None, identity_form=None, status=200):
    session = db_session()
    settings = advertising.marketing_settings(session)
    if settings_form is None:
        settings_form = MarketingSettingsForm(
            formdata=None, obj=settings, night_mode=settings.night_mode.value
        )
    return (
        render_template(
            "campaigns/senders.html",
            settings_form=settings_form,
            identity_form=identity_form or IdentityForm(formdata=None),
            action_form=ConfirmForm(formdata=None),
            identities=identities.list_identities(session),
        ),
        status,
    )


def _show_errors(form, errors: dict[str, str]) -> None:
    for key, message in errors.items():
        field = getattr(form, key)
        field.errors = [*field.errors, message]


@bp.get("/campaigns/senders")
@roles_required(*MARKETING)
def index():
    return _page()


@bp.post("/campaigns/senders/settings")
@roles_required(*MARKETING)
def save_settings():
    form = MarketingSettingsForm()
    if not form.validate_on_submit():
        return _page(settings_form=form, status=400)
    session = db_session()
    try:
        advertising.update_marketing_settings(
            session,
            sender_name=form.sender_name.data or "",
            sender_contact=form.sender_contact.data or "",
            night_mode=form.night_mode.data or "",
        )
    except advertising.MarketingSettingsError as exc:
        session.rollback()
        _show_errors(form, exc.errors)
        return _page(settings_form=form, status=400)
    flash(_("Advertising settings saved."), "success")
    return redirect(url_for("senders.index"))


@bp.post("/campaigns/identities")
@roles_required(*MARKETING)
def add_identity():
    form = IdentityForm()
    if not form.validate_on_submit():
        return _page(identity_form=form, status=400)
    session = db_session()
    try:
        identity = identities.add_identity(
            session,
            email=form.email.data or "",
            name=form.name.data or "",
            reply_to=form.reply_to.data or "",
        )
    except identities.IdentityInvalid as exc:
        session.rollback()
        _show_errors(form, exc.errors)
        return _page(identity_form=form, status=400)
    session.commit()
    identity_jobs.enqueue_confirmation(current_app.config["HELPDESK"], identity.id)
    flash(_("We sent a confirmation link to %(email)s.", email=identity.email), "success")
    return redirect(url_for("senders.index"))


def _identity_action(action, identity_id: int, done: str):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    session = db_session()
    try:
        action(session, identity_id)
    except identities.IdentityRefused as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("senders.index"))
    session.commit()
    flash(done, "success")
    return redirect(url_for("senders.index"))


@bp.post("/campaigns/identities/<int:identity_id>/default")
@roles_required(*MARKETING)
def make_default(identity_id: int):
    return _identity_action(identities.set_default, identity_id, _("Default address changed."))


@bp.post("/campaigns/identities/<int:identity_id>/remove")
@roles_required(*MARKETING)
def remove(identity_id: int):
    return _identity_action(identities.remove_identity, identity_id, _("Address removed."))


@bp.route("/campaigns/identities/confirm/<token>", methods=["GET", "POST"])
@public
def confirm(token: str):
    """A page with a button: mail scanners that fetch links do not confirm anything."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("campaigns/identity_confirm.html", form=form, done=None)
    session = db_session()
    try:
        identity = identities.confirm_identity(
            session, token, current_app.config["HELPDESK"].secret_key, utcnow()
        )
    except identities.IdentityRefused as exc:
        session.rollback()
        return render_template(
            "campaigns/identity_confirm.html", form=form, done=None, error=str(exc)
        ), 400
    session.commit()
    return render_template("campaigns/identity_confirm.html", form=form, done=identity.email)
