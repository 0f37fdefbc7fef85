"""The Alembic revisions build exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from helpdesk.db import make_engine
from helpdesk.migrate import include_object, upgrade
from helpdesk.models import metadata


def test_migrations_produce_the_models_schema(empty_database_url):
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_object}
        )
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []


def test_migrations_create_the_ticket_search_structures(empty_database_url):
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            assert "ticket_search" in inspect(conn).get_table_names()
        else:
            indexes = {index["name"] for index in inspect(conn).get_indexes("messages")}
            assert "ix_messages_body_text_trgm" in indexes
    engine.dispose()
