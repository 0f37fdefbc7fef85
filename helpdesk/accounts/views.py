"""Forgotten passwords: asking for a link, setting a password with it, and an admin's
forced reset that mails the user such a link."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from helpdesk.accounts.jobs import enqueue_password_reset
from helpdesk.auth import password_reset, service
from helpdesk.auth.forms import ForgotPasswordForm, ResetPasswordForm
from helpdesk.auth.models import Role, User
from helpdesk.auth.permissions import client_ip, public, roles_required
from helpdesk.web import db_session

bp = Blueprint("accounts", __name__)


def _config():
    return current_app.config["HELPDESK"]


def _link_max_age() -> timedelta:
    return timedelta(minutes=_config().password_reset_minutes)


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        session = db_session()
        try:
            email = password_reset.request_reset(session, form.email.data, client_ip())
        except password_reset.ResetRequestsThrottled:
            form.form_errors.append(_("Too many reset requests. Try again in an hour."))
            return render_template("accounts/forgot_password.html", form=form), 429
        session.commit()
        # Queued for every address alike: the job finds out whether an account uses it.
        enqueue_password_reset(_config(), email)
        flash(
            _(
                "If an account uses %(email)s, a link to set a new password is on its way. "
                "It works once, for %(minutes)d minutes.",
                email=email,
                minutes=_config().password_reset_minutes,
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    status = 400 if form.errors else 200
    return render_template("accounts/forgot_password.html", form=form), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    session = db_session()
    try:
        password_reset.user_for_token(session, token, _config().secret_key, _link_max_age())
    except password_reset.ResetRefused as exc:
        return _no_referrer(render_template("accounts/reset_refused.html", message=exc), 400)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        password_reset.reset_password(
            session,
            token,
            form.new_password.data,
            secret_key=_config().secret_key,
            max_age=_link_max_age(),
            ip=client_ip(),
        )
        session.commit()
        if current_user.is_authenticated:
            logout_user()
        # No automatic login: the login page is where the remaining checks (throttling,
        # a second factor) happen.
        flash(_("Your new password is set. Log in with it."), "success")
        return redirect(url_for("auth.login"))
    status = 400 if form.errors else 200
    return _no_referrer(render_template("accounts/reset_password.html", form=form), status)


def _no_referrer(body: str, status: int):
    """The link's token is in this page's address: keep it out of Referer headers and caches."""
    return body, status, {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@bp.post("/admin/users/<int:user_id>/reset-password")
@roles_required(Role.admin)
def force_reset(user_id: int):
    session = db_session()
    user = session.get(User, user_id) or abort(404)
    if user.id == current_user.id:
        flash(_("Change your own password on your preferences page."), "error")
        return redirect(url_for("auth.edit_user", user_id=user.id)), 303
    service.lock_password(user)
    session.commit()
    enqueue_password_reset(_config(), user.email)
    flash(
        _(
            "The password of %(email)s no longer works and their sessions are logged out. "
            "A link to set a new one was mailed to them.",
            email=user.email,
        ),
        "success",
    )
    return redirect(url_for("auth.edit_user", user_id=user.id))
