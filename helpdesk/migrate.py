"""Applying Alembic revisions from code (the `helpdesk migrate` command and the tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig

from helpdesk.config import PROJECT_ROOT


def alembic_config(database_url: str) -> AlembicConfig:
    config = AlembicConfig(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)
