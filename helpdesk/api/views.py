"""The API blueprint with every resource registered, its OpenAPI document and the
reference page rendered from it. Importing a resource module registers its routes."""

from __future__ import annotations

from flask import current_app, jsonify, render_template

import helpdesk.api.campaigns  # noqa: F401
import helpdesk.api.faq  # noqa: F401
import helpdesk.api.segments  # noqa: F401
import helpdesk.api.suppressions  # noqa: F401
import helpdesk.api.tickets  # noqa: F401
from helpdesk.api import customers, purchases  # noqa: F401  (their routes register)
from helpdesk.api.openapi import build_document
from helpdesk.api.routing import ROUTES, bp
from helpdesk.auth.permissions import public

__all__ = ["bp"]


def _document() -> dict:
    # Built once per process: the routes do not change while it runs.
    cached = current_app.extensions.get("api_openapi")
    if cached is None:
        cached = build_document(ROUTES, server_url=bp.url_prefix)
        current_app.extensions["api_openapi"] = cached
    return cached


@bp.get("/openapi.json")
@public
def openapi_document():
    """Public, like the reference page: it describes the API, it holds no data."""
    return jsonify(_document())


@bp.get("/docs")
@public
def reference():
    return render_template("api/reference.html", spec=_document())
