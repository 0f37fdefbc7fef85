"""Helpers every feature's writes go through."""

from __future__ import annotations

import os

from sqlalchemy import select, text

from helpdesk.customers.models import Tag
from helpdesk.db import assign_ids, insert_returning_ids, make_engine


def test_insert_returning_ids_gives_each_row_its_id_in_order(session):
    names = [f"tag-{n}" for n in range(5)]

    ids = insert_returning_ids(session, Tag, [{"name": name} for name in names])
    session.commit()

    stored = {id_: name for id_, name in session.execute(select(Tag.id, Tag.name))}
    assert [stored[id_] for id_ in ids] == names
    assert ids == sorted(ids)


def test_insert_returning_ids_continues_after_rows_inserted_otherwise(session):
    session.add(Tag(name="first"))
    session.flush()

    ids = insert_returning_ids(session, Tag, [{"name": "second"}, {"name": "third"}])
    session.add(Tag(name="fourth"))
    session.commit()

    assert len({*ids, *session.scalars(select(Tag.id))}) == 4


def test_insert_returning_ids_of_no_rows_inserts_nothing(session):
    assert insert_returning_ids(session, Tag, []) == []
    assert session.scalars(select(Tag)).all() == []


def test_assign_ids_lets_the_flush_insert_objects_with_ids_it_did_not_make(session):
    tags = [Tag(name="one"), Tag(name="two")]
    session.add_all(tags)

    assign_ids(session, tags)
    session.flush()
    session.commit()

    assert all(tag.id for tag in tags) and tags[0].id < tags[1].id
    assert session.scalar(select(Tag.name).where(Tag.id == tags[1].id)) == "two"


def test_insert_returning_ids_of_one_row(session):
    (id_,) = insert_returning_ids(session, Tag, [{"name": "only"}])
    session.commit()

    assert session.scalar(select(Tag.name).where(Tag.id == id_)) == "only"


def _in_forked_child(work) -> bytes:
    """Run `work()` in a forked child (as RQ forks a work horse) and return what it wrote."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            os.write(write_end, work())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)
    return answer


def test_a_forked_child_never_uses_the_parents_pooled_connection(database_url):
    engine = make_engine(database_url)
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        inherited = connection.connection.dbapi_connection

    def child_connection_is_inherited() -> bytes:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            return b"same" if connection.connection.dbapi_connection is inherited else b"new"

    assert _in_forked_child(child_connection_is_inherited) == b"new"
    engine.dispose()


def test_work_horses_forked_one_after_another_each_use_the_database_without_error(
    database_url,
):
    engine = make_engine(database_url)
    query = text("SELECT count(*) FROM tags WHERE name = :n")
    with engine.connect() as connection:
        connection.execute(query, {"n": "parent"})

    def horse() -> bytes:
        # Past psycopg's prepare threshold, committed: a prepared statement stays on the
        # server connection.
        with engine.begin() as connection:
            for _ in range(6):
                connection.execute(query, {"n": "horse"})
        return b"done"

    assert [_in_forked_child(horse) for _ in range(2)] == [b"done", b"done"]
    engine.dispose()
