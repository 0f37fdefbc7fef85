"""Where a user lands after login, and the admin's settings index."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from helpdesk import nav
from helpdesk.auth.models import Role
from helpdesk.auth.permissions import ALL_STAFF, roles_required

bp = Blueprint("admin", __name__)
nav.add_main("admin.settings", _l("Settings"), [Role.admin], order=90)
nav.add_setting("auth.users", _l("Users"), _l("Staff accounts and roles"), order=10)
nav.add_setting(
    "two_factor.policy",
    _l("Two-factor login"),
    _l("Require it for all staff, reset a user who lost their phone"),
    order=12,
)

# Later features add their own start pages here (tickets for agents, campaigns for marketers).
HOME_ENDPOINTS: dict[Role, str] = {
    Role.admin: "queues.index",
    Role.agent: "queues.index",
    Role.marketer: "campaigns.index",
}


@bp.get("/", endpoint="home")
@roles_required(*ALL_STAFF)
def home():
    return redirect(url_for(HOME_ENDPOINTS[current_user.role]))


@bp.get("/admin")
@roles_required(Role.admin)
def settings():
    return render_template("admin/settings.html")
