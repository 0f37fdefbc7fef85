"""Public tracking endpoints: the open pixel, click redirects, view in browser, unsubscribe.

They answer recipients' mail clients, image proxies and link scanners, so they need no
login or cookie, check the signed token first and do one small write. The one-click
unsubscribe POST (RFC 8058) comes from a mail provider's server with no session and no
CSRF token; the signed link is what authorizes it, so it is exempt from CSRF.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request

from helpdesk import csrf
from helpdesk.auth.permissions import client_ip, public
from helpdesk.campaigns import rendering, tracking
from helpdesk.campaigns.models import Campaign
from helpdesk.db import utcnow
from helpdesk.web import db_session

bp = Blueprint("tracking", __name__)


def _config():
    return current_app.config["HELPDESK"]


def _no_store(response: Response) -> Response:
    # Every fetch must reach us to be counted, and no cache may keep a personal page.
    response.headers["Cache-Control"] = "no-store, private"
    return response


@bp.get("/t/o/<signed>.gif")
@public
def open_pixel(signed: str):
    session = db_session()
    config = _config()
    try:
        tracking.record_open(
            session,
            config.secret_key,
            signed,
            user_agent=request.headers.get("User-Agent", ""),
            remote_ip=client_ip(),
            now=utcnow(),
            machine_window_s=config.machine_open_seconds,
        )
    except tracking.UnknownToken:
        abort(404)
    session.commit()
    return _no_store(Response(tracking.PIXEL_GIF, mimetype="image/gif"))


@bp.get("/t/c/<signed>/<int:position>")
@public
def click(signed: str, position: int):
    session = db_session()
    try:
        url = tracking.record_click(
            session,
            _config().secret_key,
            signed,
            position,
            user_agent=request.headers.get("User-Agent", ""),
            now=utcnow(),
        )
    except tracking.UnknownToken:
        abort(404)
    session.commit()
    return _no_store(redirect(url, code=302))


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
    # The newsletter's own HTML: no scripts, no framing by other sites.
    response.headers["Content-Security-Policy"] = (
        "script-src 'none'; object-src 'none'; frame-ancestors 'none'"
    )
    return _no_store(response)


@bp.route("/u/<signed>", methods=["GET", "POST"])
@public
def unsubscribe(signed: str):
    session = db_session()
    secret = _config().secret_key
    if request.method == "GET":
        # Link scanners follow GETs: the page asks, only the POST unsubscribes.
        try:
            tracking.check_unsubscribe_token(session, secret, signed)
        except tracking.UnknownToken:
            abort(404)
        page = render_template("campaigns/public/unsubscribe.html", signed=signed)
        return _no_store(Response(page))
    try:
        tracking.unsubscribe(session, secret, signed, now=utcnow())
    except tracking.UnknownToken:
        abort(404)
    session.commit()
    return _no_store(Response(render_template("campaigns/public/unsubscribed.html")))


csrf.exempt(unsubscribe)
