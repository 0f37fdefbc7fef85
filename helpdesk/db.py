"""Database engine, sessions and the declarative base shared by every feature package."""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, create_engine, event, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC and always returns them aware.

    SQLite has no time zone type, so without this a value read back is naive and
    comparisons with aware values fail.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store times in UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Rows looked up per IN (...) list: well under SQLite's and PostgreSQL's parameter limits.
IN_LIST_SIZE = 500


def chunks(items: Sequence, size: int = IN_LIST_SIZE) -> Iterator[Sequence]:
    """`items` in consecutive slices of at most `size`, for IN lists of bounded length."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_returning_ids(session: Session, model: type[Base], rows: list[dict]) -> list[int]:
    """INSERT the rows, each as given (None included), and return their new ids in order.

    The ids are reserved first (`_next_ids`) and the rows sent as one executemany of a
    single statement. A multi-row INSERT ... RETURNING costs more: psycopg re-parses its
    long text for every batch, and SQLite, which cannot return ids in row order, is sent
    one INSERT per row. A single row (mail from the SMTP gateway) is one INSERT ...
    RETURNING, which saves the reservation.
    """
    if len(rows) < 2:
        statement = insert(model).returning(model.id).execution_options(render_nulls=True)
        return list(session.scalars(statement, rows)) if rows else []
    ids = _next_ids(session, model, len(rows))
    session.execute(
        insert(model).execution_options(render_nulls=True),
        [row | {"id": id_} for row, id_ in zip(rows, ids, strict=True)],
    )
    return ids


def assign_ids(session: Session, objects: Sequence[Base]) -> None:
    """Give new objects of one model their ids before the flush, for the same reason as
    `insert_returning_ids`: with ids set, the flush INSERTs them in one executemany.
    One object is left to the flush's INSERT ... RETURNING."""
    if len(objects) > 1:
        ids = _next_ids(session, type(objects[0]), len(objects))
        for obj, id_ in zip(objects, ids, strict=True):
            obj.id = id_


def _next_ids(session: Session, model: type[Base], count: int) -> list[int]:
    """`count` new ids for the model's table, in increasing order."""
    # An autoflush here would INSERT the very objects waiting for these ids.
    with session.no_autoflush:
        if session.get_bind().dialect.name == "postgresql":
            sequence = func.pg_get_serial_sequence(model.__tablename__, "id")
            numbers = func.generate_series(1, count)
            return sorted(session.scalars(select(func.nextval(sequence)).select_from(numbers)))
        # SQLite gives a new row max(id) + 1, and our writing transactions hold the
        # write lock from their BEGIN IMMEDIATE, so no other writer can take these ids.
        top = session.scalar(select(func.max(model.id))) or 0
        return list(range(top + 1, top + count + 1))


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, *, sqlite_begin: str = "IMMEDIATE", **kwargs) -> Engine:
    """`sqlite_begin="DEFERRED"` is for read-mostly connections that must not take the
    write lock up front (the test suite's own session, which would otherwise block the
    requests it makes)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(f"BEGIN {sqlite_begin}"))
    else:
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
    _engines.add(engine)
    return engine


# Every engine made here, so that a forked child (an RQ work horse, a parse process)
# starts with empty pools: a database connection shared by two processes interleaves their
# traffic (psycopg: "prepared statement _pg3_0 already exists"; SQLite forbids it).
_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def _forget_inherited_connections() -> None:
    # close=False: closing would end the parent's sessions on the server; the child only
    # drops its references and opens its own connections when it needs one.
    for engine in list(_engines):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_connections)


def _sqlite_pragmas(dbapi_connection, _record):
    # Let SQLAlchemy issue BEGIN itself: BEGIN IMMEDIATE serializes writers, which is what
    # makes check-then-insert rules (one reply per message, one claimer per delivery batch)
    # hold on SQLite, and spares a read-then-write transaction from SQLITE_BUSY_SNAPSHOT.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class _Database:
    """The process-wide engine and session factory, set up once by the app or worker."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.session_factory: sessionmaker[Session] | None = None

    def configure(self, url: str) -> Engine:
        if self.engine is not None and str(self.engine.url) == url:
            return self.engine
        if self.engine is not None:
            self.engine.dispose()
        self.engine = make_engine(url)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        return self.engine

    def session(self) -> Session:
        if self.session_factory is None:
            raise RuntimeError("database is not configured; call db.configure(url) first")
        return self.session_factory()


database = _Database()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work for jobs and commands: commit on success, roll back on error."""
    session = database.session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
