"""Bounds every request meets before a view reads it, so that no request, however
malformed, reaches the database or the parser as something they fail on with a 500:
numbers too big for an id column, NUL characters (PostgreSQL refuses them in text) and
JSON nested deep enough to exhaust the stack."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, abort, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

# Every id column is an INTEGER; on PostgreSQL that is 32 bits, and a bigger number in a
# query fails in the driver rather than finding nothing.
MAX_ID = 2**31 - 1

# Real payloads (segment rules, presence heartbeats) nest a few levels; Python's parser
# and the code walking the result recurse once per level.
MAX_JSON_DEPTH = 32


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: a number no id column holds is a 404 like any other
    missing row."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def bounded_int(raw: Any, *, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """The whole number in a query, form or JSON value when it lies in [minimum, maximum];
    None for anything else (missing, not a number, a list, out of range)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str):
        text = raw.strip()
        digits = text.removeprefix("-")
        # Refused before int() parses it: a long digit string costs time, and int()
        # takes non-ASCII digits and underscores that no id is written with.
        longest = len(str(max(abs(minimum), abs(maximum))))
        if not (text.isascii() and digits.isdigit()) or len(digits) > longest:
            return None
        value = int(text)
    else:
        return None
    return value if minimum <= value <= maximum else None


class InvalidJSON(ValueError):
    """A JSON body nested too deep or carrying a NUL character; Flask answers 400."""


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing what the views and the database cannot take; a ValueError
    from here makes `request.get_json()` a 400 (or None when silent)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:
            raise InvalidJSON("JSON nested too deeply") from None
        _check_json_value(value)
        return value


def _check_json_value(value: Any) -> None:
    """Walks the parsed value without recursion, since the depth is what is checked."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise InvalidJSON(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, str):
            if "\x00" in item:
                raise InvalidJSON("JSON string contains a NUL character")
        elif isinstance(item, dict):
            pending.extend((key, depth + 1) for key in item)
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)


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
