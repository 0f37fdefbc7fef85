"""Bulk SQL for imports: INSERT ... ON CONFLICT for many rows at once (COPY on PostgreSQL,
executemany on SQLite) and lookups of thousands of keys in one parameter."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, String, Table, any_, bindparam, column, func, or_, select, table, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from helpdesk.customers.models import Customer
from helpdesk.db import chunks

# Keys per lookup query; each query passes them as one array (PostgreSQL) or one JSON
# text (SQLite), so this bounds memory, not a parameter limit.
LOOKUP_CHUNK = 20_000


def _upsert(
    session: Session,
    target: Table,
    names: Sequence[str],
    rows: list[tuple],
    conflict: list,
    update: Sequence[str] = (),
    returning: Sequence = (),
) -> list[tuple]:
    """INSERT ... ON CONFLICT for many rows given as tuples in the order of `names`.

    Conflicting rows get the `update` columns (only where a value differs, so unchanged
    rows cost no new row version) or are skipped. PostgreSQL: the rows are streamed with
    COPY into a temporary table and go in with one INSERT ... SELECT, so a batch is
    a few statements whatever its size. SQLite has no round trips to save; there the
    rows go to the driver's executemany, converted by the column types' own bind
    processors. Returns the `returning` columns of the written rows on PostgreSQL and
    nothing on SQLite (its executemany cannot return rows).
    """
    if not rows:
        return []
    names, rows = _with_defaults(target, names, rows)
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        return _upsert_postgresql(session, target, names, rows, conflict, update, returning)
    if dialect.name == "sqlite":
        _upsert_sqlite(session, target, names, rows, conflict, update)
        return []
    raise NotImplementedError(f"CSV import needs SQLite or PostgreSQL, not {dialect.name}")


def _with_defaults(target: Table, names: Sequence[str], rows: list[tuple]):
    """Add the columns the caller did not name with their Python-side defaults, as an ORM
    insert would: a statement compiled for the raw driver would otherwise carry a
    parameter for them that nothing fills. The ON CONFLICT update leaves them alone."""
    missing = [
        c
        for c in target.columns
        if c.name not in names and c.default is not None and not c.primary_key
    ]
    if not missing:
        return names, rows
    values = tuple(c.default.arg if c.default.is_scalar else c.default.arg(None) for c in missing)
    return (*names, *(c.name for c in missing)), [(*row, *values) for row in rows]


def _on_conflict(insert, target: Table, conflict: list, update: Sequence[str]):
    if not update:
        return insert.on_conflict_do_nothing(index_elements=conflict)
    return insert.on_conflict_do_update(
        index_elements=conflict,
        set_={name: insert.excluded[name] for name in update},
        where=or_(*(target.c[name].is_distinct_from(insert.excluded[name]) for name in update)),
    )


def _upsert_postgresql(session, target, names, rows, conflict, update, returning) -> list[tuple]:
    dialect = session.get_bind().dialect
    stage = f"import_{target.name}"
    column_list = ", ".join(names)
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {stage} AS"
            f" SELECT {column_list} FROM {target.name} WITH NO DATA"
        )
        # Binary COPY with the stage table's own column types: psycopg then converts
        # values in C, about ten times faster than the text format.
        cursor.execute(f"SELECT {column_list} FROM {stage} LIMIT 0")
        types = [description.type_code for description in cursor.description]
        with cursor.copy(f"COPY {stage} ({column_list}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)
        source = select(*(column(name) for name in names)).select_from(table(stage))
        statement = _on_conflict(
            postgresql.insert(target).from_select(list(names), source), target, conflict, update
        )
        if returning:
            statement = statement.returning(*returning)
        cursor.execute(str(statement.compile(dialect=dialect)))
        written = cursor.fetchall() if returning else []
        cursor.execute(f"DROP TABLE {stage}")
    return written


def _upsert_sqlite(session, target, names, rows, conflict, update) -> None:
    dialect = session.get_bind().dialect
    insert = sqlite.insert(target).values({name: bindparam(name) for name in names})
    compiled = _on_conflict(insert, target, conflict, update).compile(dialect=dialect)
    columns = list(zip(*rows, strict=True))
    position = {name: index for index, name in enumerate(names)}
    parameters = []
    for name in compiled.positiontup:
        values = columns[position[name]]
        convert = target.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if convert is not None:
            # A batch shares a handful of timestamps, statuses and flags: convert each once.
            converted: dict[Any, Any] = {None: None}
            values = [
                converted[value]
                if value in converted
                else converted.setdefault(value, convert(value))
                for value in values
            ]
        parameters.append(values)
    session.connection().exec_driver_sql(str(compiled), list(zip(*parameters, strict=True)))


def _one_of(session: Session, expression, values: Sequence):
    """`expression IN values` with one parameter, however many values.

    An IN list would be thousands of parameters that SQLAlchemy renders one by one on
    every execution; PostgreSQL takes an array, SQLite a JSON array it reads with
    json_each. Both then probe the index on `expression` once per value.
    """
    if session.get_bind().dialect.name == "postgresql":
        return expression == any_(
            bindparam(None, list(values), type_=postgresql.ARRAY(expression.type))
        )
    keys = func.json_each(bindparam(None, json.dumps(list(values)), type_=String()))
    return expression.in_(select(keys.table_valued("value").c.value))


def _rows_by_key(session: Session, key, keys: Sequence, columns: Sequence, *where) -> list[Row]:
    """The `columns` of the rows whose `key` (unique) is one of `keys` and that match
    `where`: one index probe per key on PostgreSQL.

    For a request's thousand keys on a table of some 100,000 rows the planner prices
    `key = ANY(...)`, and a join with the keys alike, as a sequential scan, ten times
    slower than the probes, and growing with the table. A LATERAL subquery with LIMIT 1
    is never flattened into a join, so each key stays an equality lookup on its index.
    """
    keys = list(keys)
    if not keys:
        return []
    if session.get_bind().dialect.name != "postgresql":
        query = select(*columns).where(_one_of(session, key, keys), *where)
        return list(session.execute(query))
    wanted = (
        func.unnest(bindparam(None, keys, type_=postgresql.ARRAY(key.type)))
        .table_valued("value")
        .render_derived(name="wanted")
    )
    hit = select(*columns).where(key == wanted.c.value, *where).limit(1).lateral("hit")
    return list(session.execute(select(hit).select_from(wanted).join(hit, true())))


def _lower_email_in(session: Session, emails: Sequence[str]):
    return _one_of(session, func.lower(Customer.email, type_=String()), emails)


def _customer_ids(session: Session, emails: Sequence[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in chunks(sorted({email.lower() for email in emails}), LOOKUP_CHUNK):
        query = select(Customer.id, Customer.email).where(_lower_email_in(session, chunk))
        ids.update((email.lower(), id_) for id_, email in session.connection().execute(query))
    return ids
