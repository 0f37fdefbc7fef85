"""Applying Alembic revisions from code (the `helpdesk migrate` command and the tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig

from helpdesk.config import PROJECT_ROOT


def alembic_config(database_url: str) -> AlembicConfig:
    config = AlembicConfig(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    return config


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave SQLite's FTS5 search table and its shadow tables out of schema comparison:
    they come from raw DDL (helpdesk.tickets.models.SEARCH_DDL), not from the models."""
    return not (
        type_ == "table" and reflected and compare_to is None and name.startswith("ticket_search")
    )


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)
