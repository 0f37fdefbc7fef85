"""Pages for API tokens: each user's personal tokens on the preferences pages, and the
admins' service tokens for integrations. A new token is shown once, on the page that
answers its creation; only its hash is kept."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectMultipleField, StringField
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from helpdesk import nav
from helpdesk.api import tokens
from helpdesk.api.models import ApiToken, TokenKind
from helpdesk.api.scopes import SCOPES
from helpdesk.auth.models import Role, User
from helpdesk.auth.permissions import ALL_STAFF, roles_required
from helpdesk.web import db_session

bp = Blueprint("api_tokens", __name__)
nav.add_setting(
    "api_tokens.service_tokens",
    _l("API tokens"),
    _l("Service tokens for integrations; revoke anyone's token"),
    order=60,
)


class TokenForm(FlaskForm):
    name = StringField(_l("Name"))
    scopes = SelectMultipleField(
        _l("Scopes"),
        choices=[SelectChoice(scope) for scope in SCOPES],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,  # the service refuses unknown scopes, with a message
    )
    expires_in_days = IntegerField(_l("Expires after (days, empty: never)"), [Optional()])


def _create(form: TokenForm, kind: TokenKind) -> tokens.NewToken | None:
    if not form.validate_on_submit():
        return None
    session = db_session()
    try:
        new = tokens.create_token(
            session,
            kind=kind,
            name=form.name.data or "",
            scopes=form.scopes.data or [],
            created_by=session.get(User, current_user.id),
            expires_in_days=form.expires_in_days.data,
        )
    except tokens.TokenInvalid as exc:
        for key, message in exc.errors.items():
            target = getattr(form, key, None)
            (target.errors if target is not None else form.form_errors).append(str(message))
        return None
    session.commit()
    return new


def _page(template_args: dict, status: int):
    return render_template("api/tokens.html", scopes=SCOPES, **template_args), status


@bp.route("/preferences/api-tokens", methods=["GET", "POST"])
@roles_required(*ALL_STAFF)
def personal_tokens():
    form = TokenForm()
    new = _create(form, TokenKind.personal)
    status = 400 if form.is_submitted() and new is None else 200
    return _page(
        {
            "form": form,
            "new": new,
            "tokens": tokens.personal_tokens(db_session(), current_user.id),
            "grantable": tokens.allowed_scopes(TokenKind.personal, current_user),
            "service": False,
        },
        status,
    )


@bp.route("/admin/api-tokens", methods=["GET", "POST"])
@roles_required(Role.admin)
def service_tokens():
    form = TokenForm()
    new = _create(form, TokenKind.service)
    status = 400 if form.is_submitted() and new is None else 200
    return _page(
        {
            "form": form,
            "new": new,
            "tokens": tokens.all_tokens(db_session()),
            "grantable": tokens.allowed_scopes(TokenKind.service, current_user),
            "service": True,
        },
        status,
    )


@bp.post("/api-tokens/<int:token_id>/revoke")
@roles_required(*ALL_STAFF)
def revoke(token_id: int):
    """Anyone revokes their own tokens; admins any token."""
    session = db_session()
    token = session.get(ApiToken, token_id)
    if token is None:
        abort(404)
    if token.user_id != current_user.id and current_user.role != Role.admin:
        abort(403)
    tokens.revoke_token(session, token)
    session.commit()
    flash(_("Token %(name)s revoked.", name=token.name), "success")
    if token.user_id == current_user.id:
        return redirect(url_for("api_tokens.personal_tokens"))
    return redirect(url_for("api_tokens.service_tokens"))
