"""Bounds every request meets before a view reads it, so that no request, however
malformed, reaches the database or the parser as something they fail on with a 500:
numbers too big for an id column, NUL characters (PostgreSQL refuses them in text) and
JSON nested deep enough to exhaust the stack (helpdesk.input_bounds)."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from helpdesk.input_bounds import MAX_ID, loads_json


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: a number no id column holds is a 404 like any other
    missing row."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing what the views and the database cannot take; the
    ValueError makes `request.get_json()` a 400 (or None when silent)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads_json(s, **kwargs)


def refuse_nul_characters() -> None:
    """No text we store or look up may hold NUL: PostgreSQL refuses it, SQLite cuts
    strings at it. A request carrying one anywhere in its path, query or form is a 400."""
    if "\x00" in request.path:
        abort(400)
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                abort(400)


def init_app(app: Flask) -> None:
    """Before any blueprint adds its routes: converters apply when a rule is added."""
    app.url_map.converters["int"] = IdConverter
    app.json = BoundedJSONProvider(app)
    app.before_request(refuse_nul_characters)
