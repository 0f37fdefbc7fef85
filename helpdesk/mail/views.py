"""The Outbox: admins read the mail the built-in SMTP sink caught instead of sending it."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import lazy_gettext as _l

from helpdesk import nav
from helpdesk.auth.models import Role
from helpdesk.auth.permissions import roles_required
from helpdesk.mail import sink
from helpdesk.mail.parse import has_remote_images, load_remote_images
from helpdesk.web import Page, page_number
from helpdesk.web.headers import MAIL_STYLES, policy

bp = Blueprint("mail", __name__)
nav.add_setting("mail.outbox", _l("Outbox"), _l("Mail the built-in sink caught"), order=80)

PAGE_SIZE = 50


def _maildir():
    return current_app.config["HELPDESK"].maildir_path


@bp.get("/admin/outbox")
@roles_required(Role.admin)
def outbox():
    page = Page(number=page_number(), size=PAGE_SIZE, total=sink.count_messages(_maildir()))
    entries = sink.list_messages(_maildir(), offset=page.offset, limit=page.size)
    config = current_app.config["HELPDESK"]
    return render_template(
        "mail/outbox.html", entries=entries, page=page, relay_configured=bool(config.smtp_url)
    )


@bp.get("/admin/outbox/<key>")
@roles_required(Role.admin)
def outbox_message(key: str):
    message = sink.read_message(_maildir(), key)
    if message is None:
        abort(404)
    load_remote = request.args.get("remote_images") == "1"
    html = message.html
    if html is not None and load_remote:
        html = load_remote_images(html)
    page = render_template(
        "mail/outbox_message.html",
        message=message,
        html=html,
        has_remote_images=html is not None and has_remote_images(html),
    )
    response = Response(page)
    # Remote images tell the sender the mail was read; they load only when asked, and
    # the policy holds that even for HTML the cleaner let through.
    remote = " https: http:" if load_remote else ""
    response.headers["Content-Security-Policy"] = policy(
        img_src=f"'self' data:{remote}", style_src=MAIL_STYLES
    )
    return response


@bp.get("/admin/outbox/<key>/raw")
@roles_required(Role.admin)
def outbox_raw(key: str):
    message = sink.read_message(_maildir(), key)
    if message is None:
        abort(404)
    # text/plain with nosniff: the raw source may hold HTML that must not render here.
    return Response(
        message.raw,
        mimetype="text/plain",
        headers={"X-Content-Type-Options": "nosniff"},
    )
