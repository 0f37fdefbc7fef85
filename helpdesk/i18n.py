"""Language and time zone for each request: the user's setting, then a cookie, then the browser.

Times are stored in UTC; `local_datetime` shows them in the viewer's zone.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Flask, current_app, redirect, request
from flask_babel import (
    Babel,
    format_datetime,
    format_timedelta,
    get_locale,
    get_translations,
    gettext,
)
from flask_login import current_user

from helpdesk import text
from helpdesk.auth import service as auth_service
from helpdesk.auth.models import User
from helpdesk.auth.permissions import public
from helpdesk.text import LANGUAGES
from helpdesk.web import db_session, safe_redirect_target

LANGUAGE_COOKIE = "lang"

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    if current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    return request.accept_languages.best_match(
        list(LANGUAGES), default=current_app.config["HELPDESK"].default_language
    )


def select_timezone() -> str:
    if current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    return current_app.config["HELPDESK"].default_timezone


def local_datetime(value: datetime | None, format: str = "medium") -> str:
    if value is None:
        return ""
    return format_datetime(value, format)


@bp.route("/language/<code>", methods=["GET", "POST"])
@public
def switch_language(code: str):
    """Visitors follow a link (GET) that only sets a cookie. Staff post the header's form
    (CSRF-checked), which also saves the choice as their preference, because a saved
    preference wins over the cookie."""
    response = redirect(safe_redirect_target(request.args.get("next")))
    if code in LANGUAGES:
        if request.method == "POST" and current_user.is_authenticated:
            session = db_session()
            auth_service.set_language(session, session.get(User, current_user.id), code)
            session.commit()
        response.set_cookie(
            LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, httponly=True, samesite="Lax"
        )
    return response


def _plural_form(singular: str, plural: str, n: int) -> str:
    return get_translations().ngettext(singular, plural, n)


def init_app(app: Flask, translations_dir: str) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = translations_dir
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # Services' lazy_text becomes the viewer's language; outside a request, English.
    text.install_translator(gettext, _plural_form)
    app.jinja_env.filters["localtime"] = local_datetime
    app.jinja_env.filters["timedelta"] = format_timedelta
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, get_locale=get_locale)
    app.register_blueprint(bp)
