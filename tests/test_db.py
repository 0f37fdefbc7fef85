"""Helpers every feature's writes go through."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.customers.models import Tag
from helpdesk.db import assign_ids, insert_returning_ids


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
