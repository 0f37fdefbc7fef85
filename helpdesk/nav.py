"""Navigation entries that feature blueprints register, filtered by the viewer's role."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, request, url_for
from flask_login import current_user

from helpdesk.auth.models import Role


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: object  # a lazy gettext string, translated when the page renders
    roles: frozenset[Role]
    order: int
    description: object = ""


@dataclass(frozen=True)
class NavLink:
    url: str
    label: str
    active: bool
    description: str = ""
    count: int | None = None


_main: list[NavEntry] = []
_settings: list[NavEntry] = []


def add_main(endpoint: str, label, roles, order: int = 50) -> None:
    if all(entry.endpoint != endpoint for entry in _main):
        _main.append(NavEntry(endpoint, label, frozenset(roles), order))


def add_setting(endpoint: str, label, description, order: int = 50) -> None:
    if all(entry.endpoint != endpoint for entry in _settings):
        _settings.append(NavEntry(endpoint, label, frozenset({Role.admin}), order, description))


def _links(entries: list[NavEntry]) -> list[NavLink]:
    if not current_user.is_authenticated:
        return []
    visible = sorted((e for e in entries if current_user.role in e.roles), key=lambda e: e.order)
    current = request.endpoint or ""
    return [
        NavLink(
            url=url_for(e.endpoint),
            label=str(e.label),
            active=current.split(".")[0] == e.endpoint.split(".")[0],
            description=str(e.description),
        )
        for e in visible
    ]


def init_app(app: Flask) -> None:
    @app.context_processor
    def navigation():
        return {
            "nav_items": lambda: _links(_main),
            "settings_links": lambda: _links(_settings),
        }
