"""Navigation entries that feature blueprints register, filtered by the viewer's role."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, request, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from helpdesk.auth.models import Role


@dataclass(frozen=True)
class NavCount:
    """A live number beside a navigation entry, such as the Unassigned tickets."""

    key: str  # pages refresh the elements marked data-count="<key>" in place
    label: str
    value: int


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: object  # a lazy gettext string, translated when the page renders
    roles: frozenset[Role]
    order: int
    description: object = ""
    # An extra test of the user beyond the role (the dashboard: agents marked as managers).
    when: Callable[[object], bool] | None = None
    # Numbers shown beside the entry on every page, and the endpoint that returns them
    # as JSON ({"counts": {key: value}}) so that the page can keep them current.
    counts: Callable[[], list[NavCount]] | None = None
    counts_endpoint: str | None = None


@dataclass(frozen=True)
class NavLink:
    url: str
    label: str
    active: bool
    description: str = ""
    count: int | None = None
    counts: tuple[NavCount, ...] = ()
    counts_url: str | None = None


_main: list[NavEntry] = []
_settings: list[NavEntry] = []


def add_main(
    endpoint: str, label, roles, order: int = 50, when=None, counts=None, counts_endpoint=None
) -> None:
    if all(entry.endpoint != endpoint for entry in _main):
        _main.append(
            NavEntry(
                endpoint,
                label,
                frozenset(roles),
                order,
                when=when,
                counts=counts,
                counts_endpoint=counts_endpoint,
            )
        )


def add_setting(endpoint: str, label, description, order: int = 50) -> None:
    if all(entry.endpoint != endpoint for entry in _settings):
        _settings.append(NavEntry(endpoint, label, frozenset({Role.admin}), order, description))


def _links(entries: list[NavEntry]) -> list[NavLink]:
    if not current_user.is_authenticated:
        return []
    visible = sorted(
        (
            e
            for e in entries
            if current_user.role in e.roles and (e.when is None or e.when(current_user))
        ),
        key=lambda e: e.order,
    )
    current = request.endpoint or ""
    return [
        NavLink(
            url=url_for(e.endpoint),
            label=str(e.label),
            active=current.split(".")[0] == e.endpoint.split(".")[0],
            description=str(e.description),
            counts=_counts(e),
            counts_url=url_for(e.counts_endpoint) if e.counts and e.counts_endpoint else None,
        )
        for e in visible
    ]


def _counts(entry: NavEntry) -> tuple[NavCount, ...]:
    if entry.counts is None:
        return ()
    try:
        return tuple(entry.counts())
    except SQLAlchemyError:
        # The numbers are a convenience: a page (an error page among them) still renders
        # when the database cannot answer right now.
        current_app.logger.warning("navigation counts unavailable", exc_info=True)
        return ()


def init_app(app: Flask) -> None:
    @app.context_processor
    def navigation():
        return {
            "nav_items": lambda: _links(_main),
            "settings_links": lambda: _links(_settings),
        }
