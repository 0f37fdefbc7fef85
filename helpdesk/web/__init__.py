"""Request plumbing shared by all blueprints: the per-request session, CSRF protection and
small helpers."""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from flask import Flask, g, request
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session

from helpdesk.db import database
from helpdesk.input_bounds import bounded_int
from helpdesk.web import input_limits
from helpdesk.web.redirects import safe_redirect_target

__all__ = [
    "Page",
    "bounded_int",
    "close_db_session",
    "csrf",
    "db_session",
    "init_app",
    "page_number",
    "safe_redirect_target",
]

# Installed by create_app; a view that takes posts from elsewhere (the one-click
# unsubscribe that mail providers send) exempts itself.
csrf = CSRFProtect()


def db_session() -> Session:
    """One session per request, closed at teardown; views commit at the service boundary."""
    if "db_session" not in g:
        g.db_session = database.session()
    return g.db_session


def close_db_session(_exc=None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    input_limits.init_app(app)
    app.teardown_appcontext(close_db_session)


@dataclass(frozen=True)
class Page:
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def page_number() -> int:
    return bounded_int(request.args.get("page"), minimum=1) or 1
