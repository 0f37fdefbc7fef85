"""The API blueprint and `api_route`, the decorator every endpoint is declared with.

A route names its method, path, scope and the pydantic models of its query, body and
response; the decorator records them (the OpenAPI document is built from that record)
and runs the conventions around the view: bearer authentication, the rate limit, the
scope check, input validation, Idempotency-Key reservation and replay, the commit,
ETags with conditional GETs (If-None-Match) and problem responses. A view receives
validated models and returns a model; it never commits. `cursor_page` and `found` are
the list and lookup steps the resources share.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from helpdesk.api import idempotency, rate_limit
from helpdesk.api.auth import authenticate_request, log_request, require_scope
from helpdesk.api.etags import etag_of_json, not_modified
from helpdesk.api.pagination import Cursors, PageQuery
from helpdesk.api.problems import (
    FieldError,
    Problem,
    field_errors,
    from_validation_error,
    invalid_input,
    problem_response,
)
from helpdesk.customers.service import InvalidInput
from helpdesk.input_bounds import loads_json
from helpdesk.queue import request_redis_connection
from helpdesk.web import csrf, db_session

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Bearer tokens, not cookies, authenticate the API, so there is no session to forge a
# request in and no CSRF token to ask for.
csrf.exempt(bp)

JSON_TYPE = "application/json"
T = TypeVar("T")


@dataclass(frozen=True)
class Route:
    method: str
    rule: str  # Flask's form: /customers/<int:customer_id>
    endpoint: str
    tag: str
    summary: str
    scope: str
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    etag: bool
    if_match: bool
    description: str = ""
    errors: tuple[int, ...] = field(default=())
    # Longest value of each string path parameter (an email, an external id).
    path_lengths: dict[str, int] = field(default_factory=dict)

    @property
    def path(self) -> str:
        """The OpenAPI form: /customers/{customer_id}."""
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.rule)

    @property
    def path_params(self) -> list[tuple[str, str]]:
        """(name, converter) of each path parameter."""
        return [
            (name, converter or "string")
            for converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", self.rule)
        ]


ROUTES: list[Route] = []


def api_route(
    method: str,
    rule: str,
    *,
    tag: str,
    summary: str,
    scope: str,
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    etag: bool = False,
    if_match: bool = False,
    errors: tuple[int, ...] = (),
    path_lengths: dict[str, int] | None = None,
) -> Callable:
    """`etag`: the response carries an ETag; `if_match`: the view checks If-Match
    (helpdesk.api.etags.check_if_match); `errors`: the status codes it may answer with
    besides the ones every route has, for the document."""

    def decorator(fn: Callable) -> Callable:
        route = Route(
            method=method,
            rule=rule,
            endpoint=fn.__name__,
            tag=tag,
            summary=summary,
            description=(fn.__doc__ or "").strip(),
            scope=scope,
            query=query,
            body=body,
            response=response,
            status=status,
            etag=etag,
            if_match=if_match,
            errors=errors,
            path_lengths=path_lengths or {},
        )
        ROUTES.append(route)

        @wraps(fn)
        def view(**path_params):
            return _handle(route, fn, path_params)

        # Not a role check by login cookie: the bearer token's scopes decide. The route
        # tables of the tests tell API views from pages by this attribute.
        view.required_scope = scope
        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        return fn

    return decorator


def _handle(route: Route, fn: Callable, path_params: dict) -> Response:
    caller = authenticate_request()
    _count_request(caller)
    require_scope(caller, route.scope)
    too_long = [k for k, n in route.path_lengths.items() if len(path_params[k]) > n]
    if too_long:
        raise invalid_input([FieldError(field=k, message="Too long.") for k in too_long])
    kwargs = dict(path_params)
    if route.query is not None:
        kwargs["query"] = _validated(route.query, request.args.to_dict())
    if route.body is not None:
        kwargs["body"] = _validated_json(route.body)
    key = request.headers.get("Idempotency-Key")
    if route.method == "POST" and key is not None:
        return _idempotent(route, fn, kwargs, caller.token_id, key)
    status, body = _run(route, fn, kwargs)
    db_session().commit()
    return _json_response(route, status, body)


def _run(route: Route, fn: Callable, kwargs: dict) -> tuple[int, str]:
    result = fn(**kwargs)
    if isinstance(result, tuple):
        result, status = result
    else:
        status = route.status
    return status, result.model_dump_json() if result is not None else ""


def _idempotent(route: Route, fn: Callable, kwargs: dict, token_id: int, key: str) -> Response:
    if not key or len(key) > idempotency.MAX_KEY_LENGTH:
        raise invalid_input(
            [FieldError(field="Idempotency-Key", message="Use 1 to 255 characters.")]
        )
    session = db_session()
    config = current_app.config["HELPDESK"]
    fingerprint = idempotency.request_hash(request.method, request.path, request.get_data())
    try:
        held = idempotency.reserve(
            session,
            token_id,
            key,
            fingerprint,
            ttl=timedelta(hours=config.api_idempotency_ttl_hours),
            lease=timedelta(seconds=config.api_idempotency_lease_seconds),
        )
    except idempotency.KeyReused:
        raise Problem(
            422,
            "Idempotency key reused",
            "This Idempotency-Key was used with a different request.",
        ) from None
    except idempotency.KeyInUse:
        raise _key_in_use() from None
    if isinstance(held, idempotency.StoredResponse):
        response = _json_response(route, held.status_code, held.body)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    try:
        status, body = _run(route, fn, kwargs)
    except Exception:
        # Refused or failed: nothing was changed, so the key is free for a retry.
        session.rollback()
        idempotency.release(session, held)
        session.commit()
        raise
    if not idempotency.complete(session, held, status, body):
        # This request ran past its lease and a retry took the key over: that one's
        # change is the one that counts.
        session.rollback()
        raise _key_in_use()
    session.commit()
    return _json_response(route, status, body)


def _key_in_use() -> Problem:
    return Problem(
        409,
        "Request in progress",
        "A request with this Idempotency-Key is still running. Send it again shortly.",
        headers={"Retry-After": "1"},
    )


def _count_request(caller) -> None:
    config = current_app.config["HELPDESK"]
    allowance = rate_limit.take(
        request_redis_connection(config),
        caller.token_id,
        limit=caller.rate_limit or config.api_rate_limit,
        window=config.api_rate_window_seconds,
    )
    if allowance is None:
        return
    g.api_rate_headers = allowance.headers()
    if allowance.exceeded:
        raise Problem(
            429,
            "Too many requests",
            f"At most {allowance.limit} requests per {config.api_rate_window_seconds} s.",
            headers={"Retry-After": str(allowance.reset_seconds)},
        )


def _validated(model: type[BaseModel], data: dict) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def _validated_json(model: type[BaseModel]) -> BaseModel:
    if request.mimetype != JSON_TYPE:
        raise Problem(415, "Unsupported media type", "Send the body as application/json.")
    try:
        data = loads_json(request.get_data())
    except ValueError as exc:
        # Unreadable, too deep, or holding a NUL (which PostgreSQL refuses in text).
        raise invalid_input([FieldError(field="body", message=str(exc))]) from None
    return _validated(model, data)


# A GET with an ETag may be kept by the client (never by a shared cache: it holds one
# token's view) but must be checked with If-None-Match before each use.
REVALIDATE = "private, no-cache"


def _json_response(route: Route, status: int, body: str) -> Response:
    if not body:
        return Response(status=status)
    if not route.etag:
        return Response(body, status=status, mimetype=JSON_TYPE)
    etag = etag_of_json(body)
    if route.method == "GET" and status == 200 and not_modified(etag):
        response = Response(status=304)
    else:
        response = Response(body, status=status, mimetype=JSON_TYPE)
    response.headers["ETag"] = etag
    if route.method == "GET":
        response.headers["Cache-Control"] = REVALIDATE
    return response


def cursor_page(
    page: type[BaseModel],
    list_name: str,
    query: PageQuery,
    fetch: Callable[[int, int], Sequence],
    out: Callable[[Any], BaseModel],
) -> BaseModel:
    """One page of a list in id order: `fetch(after_id, limit)` gives the rows after the
    cursor's id; one more than a page is asked for, to know whether another follows."""
    cursors = Cursors(current_app.config["SECRET_KEY"], list_name)
    rows = fetch(cursors.decode(query.cursor), query.limit + 1)
    shown = rows[: query.limit]
    return page(
        data=[out(row) for row in shown],
        next_cursor=cursors.encode(shown[-1].id) if len(rows) > query.limit else None,
    )


def not_found(noun: str, ident: object) -> Problem:
    return Problem(404, "Not found", f"There is no {noun} {ident}.")


def found(row: T | None, noun: str, ident: object) -> T:
    """The row, or 404 naming what was looked for."""
    if row is None:
        raise not_found(noun, ident)
    return row


@bp.errorhandler(Problem)
def _problem(problem: Problem):
    return problem_response(problem)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return problem_response(Problem(exc.code or 500, exc.name, exc.description))


@bp.errorhandler(InvalidInput)
def _refused(exc: InvalidInput):
    return problem_response(invalid_input(field_errors(exc.errors)))


@bp.after_request
def _finish(response: Response) -> Response:
    response.headers.update(g.get("api_rate_headers", {}))
    response.headers.setdefault("Cache-Control", "no-store")
    log_request(response.status_code)
    return response
