"""Pages of two-factor login: the code step after the password, set-up and turning it off
on the preferences page, and the admin's policy and reset.

Between a correct password and a correct code the user is not logged in: the session only
holds who passed the password step, for what (a code, or the set-up that the admin's
policy asks for) and since when. Flask-Login knows nothing of it, so every staff page
still sends such a visitor to the login page.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import segno
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup

from helpdesk.auth import service, two_factor
from helpdesk.auth.models import Role, User
from helpdesk.auth.permissions import ALL_STAFF, public, roles_required
from helpdesk.auth.two_factor_forms import CodeForm, PolicyForm, TurnOffForm
from helpdesk.web import db_session, safe_redirect_target

bp = Blueprint("two_factor", __name__)

PENDING = "two_factor_pending"
# How long a passed password step waits for its code, or for the set-up to finish.
PENDING_SECONDS = {"code": 5 * 60, "enrol": 15 * 60}
# Requests a logged-in user may still make while the policy sends them to the set-up.
_ALLOWED_BEFORE_ENROLMENT = frozenset({"static", "auth.logout", "i18n.switch_language"})
# The page to go on to is kept in the session cookie, which browsers cap at 4 KB.
MAX_NEXT_LENGTH = 1000


def _cipher() -> two_factor.SecretCipher:
    return two_factor.SecretCipher(current_app.config["SECRET_KEY"])


def _policy() -> two_factor.CodePolicy:
    return two_factor.CodePolicy()


def _issuer() -> str:
    return urlsplit(current_app.config["HELPDESK"].public_url).hostname or "Helpdesk"


def after_password(user: User, next_target: str | None):
    """The login page's answer to a correct password: log in, or ask for the second step."""
    db = db_session()
    if two_factor.is_enabled(db, user.id):
        return _await(user, "code", next_target, "two_factor.challenge")
    if two_factor.is_enforced(db):
        return _await(user, "enrol", next_target, "two_factor.enrol_required")
    return _complete_login(user, next_target)


def _await(user: User, purpose: str, next_target: str | None, endpoint: str):
    session[PENDING] = {
        "user_id": user.id,
        "purpose": purpose,
        "since": int(time.time()),
        "next": next_target if next_target and len(next_target) <= MAX_NEXT_LENGTH else None,
    }
    return redirect(url_for(endpoint))


def _log_in(user: User) -> None:
    """The one place where a login completes, with or without a second step."""
    session.pop(PENDING, None)
    login_user(user)


def _complete_login(user: User, next_target: str | None):
    _log_in(user)
    return redirect(safe_redirect_target(next_target, url_for("admin.home")))


def _pending_user(purpose: str) -> User | None:
    """The user who passed the password step for `purpose`, while it is still fresh."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or pending.get("purpose") != purpose:
        return None
    if time.time() - pending.get("since", 0) > PENDING_SECONDS[purpose]:
        session.pop(PENDING, None)
        return None
    user = db_session().get(User, pending.get("user_id"))
    return user if user is not None and user.is_active else None


def _back_to_login():
    session.pop(PENDING, None)
    flash(_("Please log in again."), "info")
    return redirect(url_for("auth.login"))


@bp.before_app_request
def _send_unenrolled_staff_to_set_up():
    """Once the admin requires two-factor login, a session that was logged in without it
    is turned into a pending set-up: nothing else is reachable until it is done."""
    if request.endpoint in _ALLOWED_BEFORE_ENROLMENT or _is_public(request.endpoint):
        return None
    if not current_user.is_authenticated:
        return None
    if not two_factor.enrolment_required(db_session(), current_user.id):
        return None
    user = current_user._get_current_object()
    logout_user()
    return _await(
        user,
        "enrol",
        request.path if request.method == "GET" else None,
        "two_factor.enrol_required",
    )


def _is_public(endpoint: str | None) -> bool:
    # Public pages (the FAQ, tracking links, the pixel) are open to anyone anyway, and
    # loading the user there would put a database read in front of the tracking fast path
    # and hold a read transaction open on SQLite through the page's own visit writes.
    view = current_app.view_functions.get(endpoint) if endpoint else None
    return view is not None and getattr(view, "allowed_roles", ()) is None


@bp.route("/login/code", methods=["GET", "POST"])
@public
def challenge():
    user = _pending_user("code")
    if user is None:
        return _back_to_login()
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("auth/two_factor/challenge.html", form=form), (
            400 if form.is_submitted() else 200
        )
    db = db_session()
    try:
        two_factor.verify_code(db, user.id, form.code.data, _cipher(), _policy())
    except two_factor.CodeThrottled as exc:
        form.form_errors.append(str(exc.message))
        return render_template("auth/two_factor/challenge.html", form=form), 429
    except two_factor.CodeMalformed as exc:
        db.rollback()
        form.code.errors.append(str(exc.message))
        return render_template("auth/two_factor/challenge.html", form=form), 400
    except two_factor.NotEnrolled:
        db.rollback()
        return _back_to_login()
    except two_factor.CodeRejected as exc:
        db.commit()  # the failed attempt counts
        form.code.errors.append(str(exc.message))
        return render_template("auth/two_factor/challenge.html", form=form), 401
    db.commit()
    return _complete_login(user, session[PENDING].get("next"))


@bp.route("/login/two-factor-setup", methods=["GET", "POST"])
@public
def enrol_required():
    user = _pending_user("enrol")
    if user is None:
        return _back_to_login()
    return _enrol(user, required=True)


@bp.route("/preferences/two-factor", methods=["GET", "POST"])
@roles_required(*ALL_STAFF)
def manage():
    db = db_session()
    if not two_factor.is_enabled(db, current_user.id):
        return _enrol(current_user._get_current_object(), required=False)
    return _render_manage()


def _render_manage(code_form=None, turn_off_form=None, status=200):
    return render_template(
        "auth/two_factor/manage.html",
        status=two_factor.status(db_session(), current_user.id),
        code_form=code_form or CodeForm(formdata=None),
        turn_off_form=turn_off_form or TurnOffForm(formdata=None),
    ), status


def _enrol(user: User, *, required: bool):
    """Shows the secret to scan; a posted code that matches switches two-factor login on
    and shows the recovery codes, once."""
    db = db_session()
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(db, user.id, form.code.data, _cipher(), _policy())
        except (two_factor.CodeMalformed, two_factor.NotEnrolled) as exc:
            db.rollback()
            form.code.errors.append(str(exc.message))
            status = 400
        except two_factor.CodeThrottled as exc:
            form.form_errors.append(str(exc.message))
            status = 429
        except two_factor.CodeRejected as exc:
            db.commit()  # the failed attempt counts
            form.code.errors.append(str(exc.message))
            status = 400
        else:
            db.commit()
            next_url = url_for("auth.preferences")
            if required:
                next_target = session[PENDING].get("next")
                _log_in(user)
                next_url = safe_redirect_target(next_target, url_for("admin.home"))
            return render_template(
                "auth/two_factor/recovery_codes.html", codes=codes, next_url=next_url
            )
    elif form.is_submitted():
        status = 400
    try:
        enrolment = two_factor.start_enrolment(db, user.id, user.email, _issuer(), _cipher())
    except two_factor.AlreadyOn:
        # Finished in another tab meanwhile: nothing is left to set up here.
        db.rollback()
        return _back_to_login() if required else redirect(url_for("two_factor.manage"))
    db.commit()
    qr = segno.make(enrolment.provisioning_uri, error="m")
    return render_template(
        "auth/two_factor/set_up.html",
        form=form,
        required=required,
        secret=enrolment.secret,
        # Drawn here as inline SVG: the secret never goes to a QR service or an image URL.
        qr_svg=Markup(qr.svg_inline(scale=5, border=2, dark="#111", light="#fff")),
    ), status


@bp.post("/preferences/two-factor/recovery-codes")
@roles_required(*ALL_STAFF)
def new_recovery_codes():
    db = db_session()
    form = CodeForm()
    if not form.validate_on_submit():
        return _render_manage(code_form=form, status=400)
    refused = _code_refused(db, current_user.id, form)
    if refused:
        return _render_manage(code_form=form, status=refused)
    codes = two_factor.regenerate_recovery_codes(db, current_user.id)
    db.commit()
    return render_template(
        "auth/two_factor/recovery_codes.html", codes=codes, next_url=url_for("auth.preferences")
    )


@bp.post("/preferences/two-factor/turn-off")
@roles_required(*ALL_STAFF)
def turn_off():
    db = db_session()
    form = TurnOffForm()
    if not form.validate_on_submit():
        return _render_manage(turn_off_form=form, status=400)
    user = db.get(User, current_user.id)
    if two_factor.is_enforced(db):
        form.form_errors.append(_("Two-factor login is required for all staff; it stays on."))
        return _render_manage(turn_off_form=form, status=400)
    if not service.password_matches(user.password_hash, form.password.data):
        try:
            two_factor.count_failed_attempt(db, user.id, _policy())
        except two_factor.CodeThrottled as exc:
            form.form_errors.append(str(exc.message))
            return _render_manage(turn_off_form=form, status=429)
        db.commit()
        form.password.errors.append(_("Wrong password."))
        return _render_manage(turn_off_form=form, status=400)
    refused = _code_refused(db, user.id, form)
    if refused:
        return _render_manage(turn_off_form=form, status=refused)
    two_factor.turn_off(db, user.id)
    db.commit()
    flash(_("Two-factor login is off."), "info")
    return redirect(url_for("auth.preferences"))


@bp.app_context_processor
def _two_factor_helpers():
    def two_factor_status():
        return two_factor.status(db_session(), current_user.id)

    return {"two_factor_status": two_factor_status}


@bp.route("/admin/two-factor", methods=["GET", "POST"])
@roles_required(Role.admin)
def policy():
    db = db_session()
    form = PolicyForm(enforced=two_factor.is_enforced(db))
    if form.validate_on_submit():
        two_factor.set_enforced(db, form.enforced.data)
        db.commit()
        flash(
            _("Two-factor login is now required for all staff.")
            if form.enforced.data
            else _("Two-factor login is now optional."),
            "success",
        )
        return redirect(url_for("two_factor.policy"))
    return render_template(
        "auth/two_factor/policy.html",
        form=form,
        users=service.list_users(db),
        enabled=two_factor.enabled_user_ids(db),
    ), 400 if form.is_submitted() else 200


@bp.post("/admin/two-factor/<int:user_id>/reset")
@roles_required(Role.admin)
def reset(user_id: int):
    db = db_session()
    user = db.get(User, user_id) or abort(404)
    two_factor.turn_off(db, user.id)
    db.commit()
    flash(
        _("Two-factor login of %(name)s was reset; they set it up again.", name=user.name),
        "success",
    )
    return redirect(url_for("two_factor.policy"))


def _code_refused(db, user_id: int, form) -> int | None:
    """Checks the form's code for a logged-in user's change; on refusal the reason is on
    the form and the answer's status is returned."""
    try:
        two_factor.verify_code(db, user_id, form.code.data, _cipher(), _policy())
    except two_factor.CodeThrottled as exc:
        form.code.errors.append(str(exc.message))
        return 429
    except (two_factor.CodeMalformed, two_factor.NotEnrolled) as exc:
        db.rollback()
        form.code.errors.append(str(exc.message))
        return 400
    except two_factor.CodeRejected as exc:
        db.commit()  # the failed attempt counts
        form.code.errors.append(str(exc.message))
        return 400
    return None
