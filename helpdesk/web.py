"""Request plumbing shared by all blueprints: the per-request session, CSRF protection and
small helpers."""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from flask import Flask, g, request
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session

from helpdesk.db import database

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
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def safe_redirect_target(target: str | None, default: str = "/") -> str:
    """Only same-site paths: an open redirect would let a phishing link borrow our domain."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
