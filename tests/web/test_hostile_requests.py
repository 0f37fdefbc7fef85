"""No request, however malformed, gets a 500: every route of the url_map, for every role,
with hostile values in the path, the query, a form (with a valid CSRF token, so the body
reaches the view) and a JSON body.

The names sent are every form field the app defines, every `name=` in the templates and
every request argument the views read, so a new field is covered without listing it.
"""

from __future__ import annotations

import re
from itertools import cycle
from pathlib import Path

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms.fields.core import UnboundField

from tests.factories import make_user
from tests.helpers import csrf_token, login
from tests.web.route_support import HUGE, path_for

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("anonymous", "agent", "marketer", "admin")

# Each request gives every name one of these: a number no column holds, twice and
# negated (a list where one value is expected); overlong text (the longest column holds
# 1000) full of control characters; a NUL, which the app refuses before any view.
HOSTILE_VALUES = [
    [HUGE, f"-{HUGE}"],
    ["\x01\x1b[2J\r\n\t\x7f\u202e\ufeff{{ 7*7 }}<b>한" + "x" * 1000],
    ["a\x00b"],
]
# For a path segment: percent-encoded, as a client would send it.
HOSTILE_SEGMENTS = ["%00", "%0d%0a%ff%fe..%2f..%2f" + "x" * 1000]
HOSTILE_JSON_SCALARS = [2**70, -(2**63) - 1, "\x00", None, [], {}, 1.5e308, True, "x" * 1001]


def _deeply_nested(depth: int):
    nested: list = []
    for _ in range(depth):
        nested = [nested]
    return nested


def _nested_groups(depth: int) -> dict:
    rules: dict = {"field": "email", "op": "contains", "value": "a"}
    for _ in range(depth):
        rules = {"match": "all", "groups": [rules]}
    return rules


def _field_names() -> set[str]:
    """Every field of every form class, every name= in a template, every request
    argument a view reads by name."""
    names: set[str] = set()
    pending = [FlaskForm]
    while pending:
        form_class = pending.pop()
        pending.extend(form_class.__subclasses__())
        for klass in form_class.__mro__:
            names.update(k for k, v in vars(klass).items() if isinstance(v, UnboundField))
    for template in (ROOT / "templates").rglob("*.html"):
        names.update(re.findall(r'\bname="([A-Za-z_][\w\-\[\]]*)"', template.read_text()))
    reads = re.compile(r"""(?:args|form|values|payload|data)(?:\.get|\.getlist)?[\[(]\s*"(\w+)\"""")
    for module in (ROOT / "helpdesk").rglob("*.py"):
        names.update(reads.findall(module.read_text()))
    return names - {"csrf_token"}


def _rules(app):
    """Every rule but logout (it would end the role's session); routes that delete
    last, so the others still find their rows."""
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "auth.logout"]
    return sorted(rules, key=lambda r: "delete" in r.endpoint or "discard" in r.endpoint)


def _requests(rule, world: dict, names: list[str], token: str):
    """(method, path, keyword arguments for client.open) for one rule."""
    hostile_paths = {path_for(rule, world, hostile=segment) for segment in HOSTILE_SEGMENTS}
    for path in sorted(hostile_paths - {rule.rule} if rule.arguments else set()):
        yield "GET", path, {}
    path = path_for(rule, world)
    methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
    for method in methods:
        for pairs in _hostile_pairs(names):
            if method == "GET":
                yield method, path, {"query_string": MultiDict(pairs)}
            else:
                form = MultiDict([*pairs, ("csrf_token", token)])
                yield method, path, {"query_string": MultiDict(pairs), "data": form}
        if method != "GET":
            yield from _json_requests(method, path, names, token)


def _hostile_pairs(names: list[str]):
    for values in HOSTILE_VALUES:
        yield [(name, value) for name in names for value in values]


def _json_requests(method: str, path: str, names: list[str], token: str):
    headers = {"X-CSRFToken": token}
    scalars = cycle(HOSTILE_JSON_SCALARS)
    yield method, path, {"json": {name: next(scalars) for name in names}, "headers": headers}
    nested = {"rules": _nested_groups(40), "typing": _deeply_nested(40)}
    yield method, path, {"json": nested, "headers": headers}
    too_deep = {"data": "[" * 100_000, "content_type": "application/json"}
    yield method, path, {**too_deep, "headers": headers}


@pytest.mark.parametrize("role", ROLES)
def test_no_request_gets_a_server_error(app, client, session, redis_conn, world, role):
    if role != "anonymous":
        user = make_user(session, role=role, email=f"{role}@hostile.example")
        login(client, user.email)
    token = csrf_token(client)
    names = sorted(_field_names())
    failures = []
    for rule in _rules(app):
        for method, path, kwargs in _requests(rule, world, names, token):
            try:
                status = client.open(path, method=method, **kwargs).status_code
            except Exception as exc:  # the test client re-raises what the view raised
                status = f"{type(exc).__name__}: {str(exc)[:200]}"
            if not isinstance(status, int) or status >= 500:
                failures.append((rule.endpoint, method, path[:80], str(kwargs)[:120], status))
    assert failures == []
