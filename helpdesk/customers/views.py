"""Customer pages (placeholder until the customers feature lands)."""

from __future__ import annotations

from flask import Blueprint, render_template

from helpdesk.auth.permissions import ALL_STAFF, roles_required

bp = Blueprint("customers", __name__)


@bp.get("/customers")
@roles_required(*ALL_STAFF)
def index():
    return render_template("error.html", code=200, message="customers")
