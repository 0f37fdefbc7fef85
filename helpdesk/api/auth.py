"""Who is calling: only `Authorization: Bearer <token>` counts. Session cookies are never
read here, so a browser's login cannot be ridden into the API (and the API needs no CSRF
token); every request is logged with its token id, never with the token."""

from __future__ import annotations

import logging

from flask import g, request

from helpdesk.api import tokens
from helpdesk.api.problems import Problem
from helpdesk.api.tokens import Caller
from helpdesk.web import db_session

log = logging.getLogger("helpdesk.api")


def _unauthorized(detail: str, error: str | None = None) -> Problem:
    challenge = 'Bearer realm="helpdesk"' + (f', error="{error}"' if error else "")
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": challenge})


def authenticate_request() -> Caller:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise _unauthorized("Send an API token as `Authorization: Bearer <token>`.")
    session = db_session()
    caller = tokens.authenticate(session, secret.strip())
    if caller is None:
        session.rollback()
        raise _unauthorized(
            "The token is unknown, revoked or expired, or its owner can no longer use it.",
            "invalid_token",
        )
    # last_used_at is committed with the request's work (helpdesk.api.routing).
    g.api_caller = caller
    return caller


def current_caller() -> Caller:
    return g.api_caller


def require_scope(caller: Caller, scope: str) -> None:
    if scope not in caller.scopes:
        raise Problem(
            403,
            "Insufficient scope",
            f"This request needs the {scope} scope, which the token does not have.",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
        )


def log_request(status: int) -> None:
    caller = g.get("api_caller")
    log.info(
        "api %s %s -> %d token=%s",
        request.method,
        request.path,
        status,
        caller.token_id if caller else "-",
    )
