"""Public tracking endpoints: the open pixel, click redirects, view in browser, unsubscribe.

They answer recipients' mail clients, image proxies and link scanners, so they need no
login or cookie and check the signed token first. The pixel and the click redirect touch
no database: they push the event to Redis and answer at once (the click's target comes
from the signed campaign id and a per-process copy of the campaign's links); a worker
job counts the events. The pixel's usual case is answered by `PixelFastPath` before
Flask sees the request. If Redis cannot be reached they write straight to the database
as before, and skip Redis for a few seconds. The one-click unsubscribe POST (RFC 8058) comes
from a mail provider's server with no session and no CSRF token; the signed link is what
authorizes it, so it is exempt from CSRF.

Link scanners, security gateways and prefetchers probe links with HEAD, which Flask
answers on every GET route: a HEAD gets the same status and headers as a GET (the
pixel, the redirect, the page) but counts no open or click and unsubscribes nobody.
Only a GET of the pixel or a click link counts, and only a POST carrying
`List-Unsubscribe=One-Click` (the mail provider's one-click request, and the button on
the confirmation page, which sends the same field) unsubscribes.
"""

from __future__ import annotations

import contextlib
import logging
import time

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request
from flask_babel import gettext as _
from redis.exceptions import RedisError
from rq import Queue

from helpdesk.auth.permissions import client_ip, public
from helpdesk.campaigns import jobs, rendering, tracking, tracking_events
from helpdesk.campaigns.models import Campaign
from helpdesk.db import database, utcnow
from helpdesk.queue import DEFAULT_QUEUE, request_redis_connection
from helpdesk.web import csrf, db_session

log = logging.getLogger(__name__)

bp = Blueprint("tracking", __name__)

# After Redis fails, events go straight to the database for this long before Redis is
# tried again, so an outage costs one timeout, not one per request.
REDIS_RETRY_SECONDS = 5.0
_redis_down_until: dict[str, float] = {}  # by Redis URL
_links = tracking.CampaignLinkCache()
_event_logs: dict[str, tracking_events.TrackingEventLog] = {}  # by Redis URL


def _event_log(config) -> tracking_events.TrackingEventLog:
    url = config.effective_redis_url
    if url not in _event_logs:
        _event_logs[url] = tracking_events.TrackingEventLog(request_redis_connection(config))
    return _event_logs[url]


def _config():
    return current_app.config["HELPDESK"]


def _no_store(response: Response) -> Response:
    # Every fetch must reach us to be counted, and no cache may keep a personal page.
    response.headers["Cache-Control"] = "no-store, private"
    return response


def _buffer(config, event: str) -> bool:
    """Hand the event to Redis for the flush job; False when Redis is unavailable and
    the caller must record it itself."""
    url = config.effective_redis_url
    if time.monotonic() < _redis_down_until.get(url, 0.0):
        return False
    events = _event_log(config)
    try:
        flush_needed = events.push(event)
    except RedisError as exc:
        _redis_down_until[url] = time.monotonic() + REDIS_RETRY_SECONDS
        log.warning("tracking: Redis unavailable (%s); writing opens and clicks directly", exc)
        return False
    if flush_needed:
        try:
            Queue(DEFAULT_QUEUE, connection=events.redis).enqueue(jobs.flush_tracking_events)
        except RedisError as exc:
            # The event is stored; the next event queues the job.
            log.warning("tracking: could not queue the flush job: %s", exc)
            with contextlib.suppress(RedisError):
                events.flush_queued_failed()
    return True


_PIXEL_HEADERS = [
    ("Content-Type", "image/gif"),
    ("Content-Length", str(len(tracking.PIXEL_GIF))),
    ("Cache-Control", "no-store, private"),
]


class PixelFastPath:
    """WSGI middleware answering the open pixel's usual case, a valid link and Redis up,
    before Flask builds a request context: that machinery is most of the pixel's cost,
    and the pixel uses none of it (no session, login, CSRF, template or database).
    Everything else, a bad link or Redis down included, goes on to `open_pixel`."""

    def __init__(self, app, config) -> None:
        self.app = app
        self.config = config

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if (
            path.startswith("/t/o/")
            and path.endswith(".gif")
            and environ.get("REQUEST_METHOD") == "GET"
        ):
            signed = path[len("/t/o/") : -len(".gif")]
            try:
                token = tracking.unsign(self.config.secret_key, tracking.OPEN, signed)
            except tracking.UnknownToken:
                token = None
            if token is not None and "/" not in signed:
                event = tracking_events.open_event(
                    token,
                    utcnow(),
                    environ.get("HTTP_USER_AGENT", ""),
                    environ.get("REMOTE_ADDR") or "unknown",
                )
                if _buffer(self.config, event):
                    start_response("200 OK", list(_PIXEL_HEADERS))
                    return [tracking.PIXEL_GIF]
        # A failed push has switched Redis off for a few seconds: the view writes directly.
        return self.app(environ, start_response)


@bp.get("/t/o/<signed>.gif")
@public
def open_pixel(signed: str):
    config = _config()
    try:
        token = tracking.unsign(config.secret_key, tracking.OPEN, signed)
    except tracking.UnknownToken:
        abort(404)
    if request.method == "HEAD":
        return _no_store(Response(tracking.PIXEL_GIF, mimetype="image/gif"))
    user_agent = request.headers.get("User-Agent", "")
    now = utcnow()
    if not _buffer(config, tracking_events.open_event(token, now, user_agent, client_ip())):
        session = db_session()
        try:
            tracking.record_open(
                session,
                config.secret_key,
                signed,
                user_agent=user_agent,
                remote_ip=client_ip(),
                now=now,
                machine_window_s=config.machine_open_seconds,
            )
        except tracking.UnknownToken:
            abort(404)
        session.commit()
    return _no_store(Response(tracking.PIXEL_GIF, mimetype="image/gif"))


def _load_links(campaign_id: int) -> dict[int, str]:
    with database.session() as session:
        return tracking.campaign_links(session, campaign_id)


@bp.get("/t/c/<signed>/<int:position>")
@public
def click(signed: str, position: int):
    config = _config()
    try:
        token, campaign_id = tracking.unsign_click(config.secret_key, signed)
    except tracking.UnknownToken:
        abort(404)
    if campaign_id is None:
        # A link mailed before click links carried the campaign id.
        with database.session() as session:
            campaign_id = tracking.campaign_of_token(session, token)
        if campaign_id is None:
            abort(404)
    url = _links.url(campaign_id, position, _load_links)
    if url is None:
        abort(404)
    if request.method == "HEAD":
        return _no_store(redirect(url, code=302))
    user_agent = request.headers.get("User-Agent", "")
    now = utcnow()
    if not _buffer(config, tracking_events.click_event(token, position, now, user_agent)):
        session = db_session()
        try:
            url = tracking.record_click(
                session, config.secret_key, signed, position, user_agent=user_agent, now=now
            )
        except tracking.UnknownToken:
            abort(404)
        session.commit()
    return _no_store(redirect(url, code=302))


# A marketer's HTML on our own origin: `sandbox` gives it an opaque origin (no cookies of
# ours) and takes away scripts, forms, popups and navigating the page by itself (meta
# refresh); a reader's click on a link still works. Images may come from any https
# server: newsletters keep them on the marketer's CDN, and the reader's mail client loads
# the same images anyway. Set here, on the response: a default policy added for all pages
# must leave a view's own policy alone.
VIEW_IN_BROWSER_POLICY = (
    "sandbox; default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; "
    "font-src https: data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@bp.get("/t/v/<signed>")
@public
def view_in_browser(signed: str):
    session = db_session()
    config = _config()
    try:
        delivery = tracking.delivery_for_view(session, config.secret_key, signed)
    except tracking.UnknownToken:
        abort(404)
    campaign = session.get(Campaign, delivery.campaign_id)
    context = rendering.customer_contexts(session, [delivery.customer_id]).get(
        delivery.customer_id, {}
    )
    urls = tracking.tracking_urls(config.public_url, config.secret_key, delivery.token)
    try:
        _subject, html, _text = rendering.render_for_delivery(
            campaign,
            context,
            {
                "unsubscribe_url": urls.unsubscribe_url,
                "view_in_browser_url": urls.view_in_browser_url,
            },
        )
    except rendering.TemplateProblem:
        abort(404)
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = VIEW_IN_BROWSER_POLICY
    return _no_store(response)


# RFC 8058 section 3.1: the one-click request is a POST whose body carries this field.
ONE_CLICK_FIELD = ("List-Unsubscribe", "One-Click")


def _unsubscribe_page(signed: str, *, error: str = "", status: int = 200) -> Response:
    page = render_template("campaigns/public/unsubscribe.html", signed=signed, error=error)
    return _no_store(Response(page, status=status))


@bp.route("/u/<signed>", methods=["GET", "POST"])
@public
def unsubscribe(signed: str):
    session = db_session()
    secret = _config().secret_key
    try:
        tracking.check_unsubscribe_token(session, secret, signed)
    except tracking.UnknownToken:
        abort(404)
    if request.method != "POST":
        # GET and HEAD come from people and from link scanners alike: the page asks.
        return _unsubscribe_page(signed)
    name, value = ONE_CLICK_FIELD
    if request.form.get(name) != value:
        return _unsubscribe_page(
            signed,
            error=_("Nothing was changed. Press the button below to unsubscribe."),
            status=400,
        )
    try:
        tracking.unsubscribe(session, secret, signed, now=utcnow())
    except tracking.UnknownToken:
        abort(404)
    session.commit()
    return _no_store(Response(render_template("campaigns/public/unsubscribed.html")))


csrf.exempt(unsubscribe)
