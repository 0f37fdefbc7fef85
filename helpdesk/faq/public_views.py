"""The public help centre: FAQ pages, search and votes; no login needed. Its contact page
takes mail in, so it is helpdesk.inbound.contact_views.

Pages without a form are cacheable by shared caches for anonymous visitors; pages that
carry a CSRF token or the visitor's own vote are private, since a shared cache would hand
one visitor's token to another.
"""

from __future__ import annotations

import secrets

from flask import (
    Blueprint,
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
from itsdangerous import BadSignature, URLSafeSerializer

from helpdesk.auth.permissions import client_ip, public
from helpdesk.faq import search, service, visits
from helpdesk.faq.forms import VoteForm
from helpdesk.faq.models import ArticleLanguage, Category
from helpdesk.queue import redis_connection
from helpdesk.web import Page, db_session, page_number

bp = Blueprint("faq", __name__)
# Writes the help-centre visit counts after each response, also the contact page's
# (helpdesk.inbound.contact_views).
bp.after_app_request(visits.write_pending)

VISITOR_COOKIE = "faq_visitor"
SHARED_MAX_AGE = 300
SEARCH_LIMIT = 20
CATEGORY_PAGE_SIZE = 30


def _config():
    return current_app.config["HELPDESK"]


def _language() -> str:
    locale = get_locale()
    code = locale.language if locale else _config().default_language
    return code if code in ArticleLanguage.__members__ else "en"


def _cached(response, shared: bool):
    """Cache-Control for a public page; logged-in staff always get a fresh copy."""
    if current_user.is_authenticated or not shared:
        response.cache_control.private = True
        response.cache_control.no_cache = True
    else:
        response.cache_control.public = True
        response.cache_control.max_age = SHARED_MAX_AGE
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response


def public_page(template: str, status: int = 200, shared: bool = True, **context):
    # Flashed messages only on private pages: a shared cache must not keep one.
    body = render_template(template, show_flashes=not shared, **context)
    response = current_app.make_response((body, status))
    return _cached(response, shared)


def _limiter() -> service.RateLimiter:
    return service.RateLimiter(redis_connection(_config()))


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(_config().secret_key, salt="faq-visitor")


def _visitor_id() -> str | None:
    """The visitor id from its signed cookie; a forged or missing cookie gives None."""
    raw = request.cookies.get(VISITOR_COOKIE)
    if not raw:
        return None
    try:
        value = _serializer().loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None


@bp.get("/faq")
@public
def index():
    session = db_session()
    language = _language()
    return public_page(
        "faq/index.html",
        sections=service.category_sections(session, language),
        helpful=service.most_helpful(session, language),
        language=language,
    )


@bp.get("/faq/category/<int:category_id>")
@public
def category(category_id: int):
    session = db_session()
    found = session.get(Category, category_id) or abort(404)
    number = page_number()
    articles, total = service.category_articles(
        session,
        category_id,
        _language(),
        offset=(number - 1) * CATEGORY_PAGE_SIZE,
        limit=CATEGORY_PAGE_SIZE,
    )
    page = Page(number=number, size=CATEGORY_PAGE_SIZE, total=total)
    return public_page("faq/category.html", category=found, articles=articles, page=page)


@bp.get("/faq/<any(ko, en):lang>/<slug>")
@public
def article(lang: str, slug: str):
    session = db_session()
    found = service.published_article(session, lang, slug) or abort(404)
    visits.article_viewed(found.id, from_search=request.args.get("sq"))
    return public_page(
        "faq/article.html",
        shared=False,
        article=found,
        related=service.related_articles(session, found),
        voted=service.has_voted(session, found.id, _visitor_id()),
        vote_form=VoteForm(),
        description=service.meta_description(found),
    )


@bp.get("/faq/a/<int:article_id>")
@public
def short_link(article_id: int):
    """The short address an agent's reply carries: plain ASCII, so every mail client
    links all of it, and still right after the article's title (and slug) is edited."""
    found = service.published_article_by_id(db_session(), article_id) or abort(404)
    response = redirect(url_for("faq.article", lang=found.language, slug=found.slug), 302)
    return _cached(response, shared=True)


@bp.post("/faq/<any(ko, en):lang>/<slug>/vote")
@public
def vote(lang: str, slug: str):
    session = db_session()
    found = service.published_article(session, lang, slug) or abort(404)
    form = VoteForm()
    answer = request.form.get("helpful")
    if not form.validate_on_submit() or answer not in ("yes", "no"):
        abort(400)
    visitor = _visitor_id()
    new_visitor = visitor is None
    visitor = visitor or secrets.token_urlsafe(24)
    try:
        service.cast_vote(
            session, found.id, visitor, answer == "yes", limiter=_limiter(), ip=client_ip()
        )
    except service.RateLimited:
        session.rollback()
        message = _("Too many votes from your network. Please try again later.")
        return render_template("error.html", code=429, message=message), 429
    except service.AlreadyVoted:
        session.rollback()
        flash(_("You already told us whether this article helped. Thank you!"), "warning")
    else:
        session.commit()
        flash(_("Thank you for your feedback!"), "success")
    response = redirect(url_for("faq.article", lang=lang, slug=slug, _anchor="feedback"), 303)
    if new_visitor:
        response.set_cookie(
            VISITOR_COOKIE,
            _serializer().dumps(visitor),
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=_config().session_cookie_secure,
        )
    return response


@bp.get("/faq/search")
@public
def search_page():
    query = request.args.get("q")
    if query is None:
        return public_page("faq/search.html", query="", hits=[], error=None)
    try:
        hits = search.search_articles(db_session(), query, limit=SEARCH_LIMIT)
    except search.EmptyQuery:
        error = _("Type a word or a question to search for.")
    except search.QueryTooLong:
        error = _(
            "Your search is too long. Use at most %(n)d characters.", n=search.MAX_QUERY_LENGTH
        )
    else:
        visits.searched(query, len(hits))
        return public_page(
            "faq/search.html",
            query=query,
            hits=hits,
            error=None,
            did_you_mean=search.did_you_mean(db_session(), query),
        )
    return public_page(
        "faq/search.html", 400, query=query[: search.MAX_QUERY_LENGTH * 2], hits=[], error=error
    )


@bp.get("/faq/sitemap.xml")
@public
def sitemap():
    entries = service.sitemap_entries(db_session())
    body = render_template(
        "faq/sitemap.xml", entries=entries, base=_config().public_url.rstrip("/")
    )
    response = current_app.response_class(body, mimetype="application/xml")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response
