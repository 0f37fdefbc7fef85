"""Login, logout, personal preferences and the admin's user management pages."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from helpdesk.auth import service, throttle, two_factor_views
from helpdesk.auth.forms import (
    ROLE_CHOICES,
    ChangePasswordForm,
    EditUserForm,
    LoginForm,
    NewUserForm,
    PreferencesForm,
)
from helpdesk.auth.models import Role, User
from helpdesk.auth.permissions import ALL_STAFF, SUPPORT, client_ip, public, roles_required
from helpdesk.web import db_session

bp = Blueprint("auth", __name__)


def _throttle_policy() -> throttle.ThrottlePolicy:
    config = current_app.config["HELPDESK"]
    return throttle.ThrottlePolicy(
        max_failures=config.login_max_failures,
        window=timedelta(minutes=config.login_lockout_minutes),
        ip_max_failures=config.login_ip_max_failures,
        ip_delay=timedelta(milliseconds=config.login_ip_delay_ms),
        ip_max_delay=timedelta(milliseconds=config.login_ip_max_delay_ms),
    )


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.home"))
    form = LoginForm()
    if form.validate_on_submit():
        session = db_session()
        try:
            user = service.authenticate(
                session, form.email.data, form.password.data, client_ip(), _throttle_policy()
            )
        except throttle.LoginThrottled as exc:
            minutes = max(1, int(exc.retry_after.total_seconds() // 60) + 1)
            form.form_errors.append(
                _("Too many failed attempts. Try again in %(minutes)d minutes.", minutes=minutes)
            )
            return render_template("auth/login.html", form=form), 429
        session.commit()
        if user is None:
            form.form_errors.append(_("Wrong email or password."))
            return render_template("auth/login.html", form=form), 401
        return two_factor_views.after_password(user, request.args.get("next"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@roles_required(*ALL_STAFF)
def logout():
    # A copy of this session's cookie must not outlive the logout: end them all.
    session = db_session()
    service.end_sessions(session.get(User, current_user.id))
    session.commit()
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/preferences", methods=["GET", "POST"])
@roles_required(*ALL_STAFF)
def preferences():
    form = PreferencesForm(obj=current_user)
    if form.validate_on_submit():
        session = db_session()
        user = session.get(User, current_user.id)
        service.update_preferences(
            session,
            user,
            language=form.language.data,
            timezone=form.timezone.data,
            signature=form.signature.data if user.role in SUPPORT else None,
            signature_ko=form.signature_ko.data if user.role in SUPPORT else None,
        )
        session.commit()
        flash(_("Preferences saved."), "success")
        return redirect(url_for("auth.preferences"))
    return _preferences_page(form=form, status=400 if request.method == "POST" else 200)


def _preferences_page(*, status: int = 200, **forms):
    forms.setdefault("form", PreferencesForm(obj=current_user))
    forms.setdefault("password_form", ChangePasswordForm(formdata=None))
    return render_template("auth/preferences.html", **forms), status


# Own password and sessions: each ends the user's other sessions and keeps this one.


def _keep_this_session(user: User) -> None:
    """After the session version moved on, this browser's cookie gets the new one."""
    login_user(user)


@bp.post("/preferences/password")
@roles_required(*ALL_STAFF)
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        session = db_session()
        user = session.get(User, current_user.id)
        try:
            service.change_password(
                session,
                user,
                current=form.current_password.data,
                new=form.new_password.data,
                ip=client_ip(),
                policy=_throttle_policy(),
            )
        except throttle.LoginThrottled:
            form.form_errors.append(_("Too many wrong passwords. Try again later."))
            return _preferences_page(password_form=form, status=429)
        except service.UserError as exc:
            # The failed attempt is kept: it counts towards the address's lockout.
            session.commit()
            form.form_errors.append(str(exc))
        else:
            session.commit()
            _keep_this_session(user)
            flash(_("Password changed. Your other sessions are logged out."), "success")
            return redirect(url_for("auth.preferences"))
    return _preferences_page(password_form=form, status=400)


@bp.post("/preferences/sessions")
@roles_required(*ALL_STAFF)
def end_other_sessions():
    session = db_session()
    user = session.get(User, current_user.id)
    service.end_sessions(user)
    session.commit()
    _keep_this_session(user)
    flash(_("Your other sessions are logged out."), "success")
    return redirect(url_for("auth.preferences"))


@bp.app_context_processor
def _role_labels():
    return {"role_labels": {choice.value: choice.label for choice in ROLE_CHOICES}}


@bp.get("/admin/users")
@roles_required(Role.admin)
def users():
    return render_template("auth/users.html", users=service.list_users(db_session()))


@bp.route("/admin/users/new", methods=["GET", "POST"])
@roles_required(Role.admin)
def new_user():
    form = NewUserForm()
    if form.validate_on_submit():
        session = db_session()
        try:
            user = service.create_user(
                session,
                email=form.email.data,
                name=form.name.data,
                password=form.password.data,
                role=form.role.data,
                is_manager=form.is_manager.data,
            )
        except service.UserError as exc:
            session.rollback()
            form.form_errors.append(str(exc))
        else:
            session.commit()
            flash(_("User %(email)s created.", email=user.email), "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=None), 400 if form.errors else 200


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.admin)
def edit_user(user_id: int):
    session = db_session()
    user = session.get(User, user_id) or abort(404)
    form = EditUserForm(obj=user)
    if form.validate_on_submit():
        try:
            service.update_user(
                session,
                user,
                name=form.name.data,
                role=form.role.data,
                is_active=form.is_active.data,
                is_manager=form.is_manager.data,
                password=form.password.data or None,
            )
        except service.UserError as exc:
            session.rollback()
            form.form_errors.append(str(exc))
        else:
            session.commit()
            if user.id == current_user.id:
                login_user(user)  # an admin's own edit ends their other sessions only
            flash(_("User %(email)s saved.", email=user.email), "success")
            return redirect(url_for("auth.users"))
    status = 400 if form.errors else 200
    return render_template("auth/user_form.html", form=form, user=user), status
