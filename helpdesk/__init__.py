"""The helpdesk web application: create_app(config) builds it and registers every feature."""

from __future__ import annotations

from flask import Flask, Request, render_template
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from helpdesk.config import PROJECT_ROOT, Config
from helpdesk.db import database
from helpdesk.web import csrf


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's cookie sessions, minus building a signing serializer for requests that
    carry no session cookie: the open pixel and click redirects, fetched by the thousand
    by mail clients and image proxies, never do."""

    def open_session(self, app: Flask, request: Request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(config.instance_path),
    )
    app.config.update(
        HELPDESK=config,
        SECRET_KEY=config.secret_key,
        TESTING=config.testing,
        WTF_CSRF_ENABLED=config.csrf_enabled,
        WTF_CSRF_TIME_LIMIT=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=config.import_max_bytes,
    )
    app.session_interface = _SessionInterface()
    database.configure(config.database_url)
    _deliver_events_as_they_commit(config)
    csrf.init_app(app)
    _init_login(app)
    _register_features(app)
    _register_error_pages(app)
    _add_pixel_fast_path(app, config)
    _add_security_headers(app, config)
    _trust_proxies(app, config)
    return app


def _deliver_events_as_they_commit(config: Config) -> None:
    from helpdesk.webhooks.jobs import notify_on_commit

    notify_on_commit(config)


def _trust_proxies(app: Flask, config: Config) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, the client address (login throttling, the
    open pixel's machine-open check) and scheme come from their X-Forwarded-* headers.
    Outermost, so the pixel's fast path sees the client's address too."""
    if config.trusted_proxies > 0:
        n = config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)


def _add_pixel_fast_path(app: Flask, config: Config) -> None:
    from helpdesk.campaigns.tracking_views import PixelFastPath

    app.wsgi_app = PixelFastPath(app.wsgi_app, config)


def _add_security_headers(app: Flask, config: Config) -> None:
    from helpdesk.web.headers import SecurityHeaders

    app.wsgi_app = SecurityHeaders(app.wsgi_app, https=config.public_url.startswith("https://"))


def _init_login(app: Flask) -> None:
    from helpdesk.auth.models import User
    from helpdesk.web import db_session

    login_manager = LoginManager(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(session_id: str):
        # User.get_id: "<user id>:<session version>". A cookie of an older version (one
        # that logged out, or from before a password or role change) logs no one in.
        user_id, _, version = session_id.partition(":")
        if not (user_id.isdigit() and version.isdigit()) or len(session_id) > 40:
            return None
        user = db_session().get(User, int(user_id))
        if user is None or not user.is_active or user.session_version != int(version):
            return None
        return user


def _register_features(app: Flask) -> None:
    import helpdesk.inbound.api_tickets  # noqa: F401  (adds POST /api/v1/tickets)
    from helpdesk import i18n, nav, web
    from helpdesk.accounts.views import bp as accounts_bp
    from helpdesk.admin.views import bp as admin_bp
    from helpdesk.api.token_views import bp as api_tokens_bp
    from helpdesk.api.views import bp as api_bp
    from helpdesk.auth.two_factor_views import bp as two_factor_bp
    from helpdesk.auth.views import bp as auth_bp
    from helpdesk.campaigns.report_views import bp as campaign_reports_bp
    from helpdesk.campaigns.sender_views import bp as senders_bp
    from helpdesk.campaigns.tracking_views import bp as tracking_bp
    from helpdesk.campaigns.views import bp as campaigns_bp
    from helpdesk.customers.import_views import bp as imports_bp
    from helpdesk.customers.views import bp as customers_bp
    from helpdesk.faq.public_views import bp as faq_bp
    from helpdesk.faq_admin.views import bp as faq_admin_bp
    from helpdesk.inbound.contact_views import bp as contact_bp
    from helpdesk.inbound.mailbox_views import bp as mailboxes_bp
    from helpdesk.mail.views import bp as mail_bp
    from helpdesk.notifications.views import bp as notifications_bp
    from helpdesk.reports.views import bp as dashboard_bp
    from helpdesk.saved_replies.views import bp as saved_replies_bp
    from helpdesk.surveys.views import bp as surveys_bp
    from helpdesk.surveys.views import public_bp as survey_links_bp
    from helpdesk.tickets.merge_views import bp as ticket_merges_bp
    from helpdesk.tickets.new_ticket_views import bp as new_ticket_bp
    from helpdesk.tickets.queue_views import bp as queues_bp
    from helpdesk.tickets.settings_views import bp as ticket_settings_bp
    from helpdesk.tickets.views import bp as tickets_bp
    from helpdesk.tickets.views import mentions_bp
    from helpdesk.webhooks.views import bp as webhooks_bp

    web.init_app(app)
    nav.init_app(app)
    i18n.init_app(app, str(PROJECT_ROOT / "translations"))
    for blueprint in (auth_bp, admin_bp, customers_bp, mail_bp, imports_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(two_factor_bp)
    app.register_blueprint(queues_bp)
    app.register_blueprint(ticket_settings_bp)
    app.register_blueprint(tickets_bp)
    app.register_blueprint(new_ticket_bp)
    app.register_blueprint(mentions_bp)
    app.register_blueprint(ticket_merges_bp)
    app.register_blueprint(mailboxes_bp)
    app.register_blueprint(faq_bp)
    app.register_blueprint(contact_bp)
    app.register_blueprint(faq_admin_bp)
    app.register_blueprint(saved_replies_bp)
    app.register_blueprint(campaigns_bp)
    app.register_blueprint(tracking_bp)
    app.register_blueprint(campaign_reports_bp)
    app.register_blueprint(senders_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(surveys_bp)
    app.register_blueprint(survey_links_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_tokens_bp)


def _register_error_pages(app: Flask) -> None:
    from flask import request
    from flask_babel import gettext

    from helpdesk.api.problems import Problem, problem_response

    messages = {
        400: lambda: gettext("The request could not be understood."),
        403: lambda: gettext("You do not have access to this page."),
        404: lambda: gettext("This page does not exist."),
        413: lambda: gettext("The upload is too large."),
    }

    def render_error(code: int):
        def handler(error):
            # Under /api/ even a URL no route matches answers in problem+json.
            if request.path.startswith("/api/"):
                return problem_response(Problem(code, error.name, error.description))
            return render_template("error.html", code=code, message=messages[code]()), code

        return handler

    for code in messages:
        app.register_error_handler(code, render_error(code))

    @app.errorhandler(405)
    def method_not_allowed(error):
        if request.path.startswith("/api/"):
            return problem_response(Problem(405, error.name, error.description))
        return error

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        message = gettext("The form expired or was not sent from this site. Please try again.")
        return render_template("error.html", code=400, message=message), 400
