"""Finding the tickets whose subject, message text, customer email or name contain a
term: from the search indexes (PostgreSQL's GIN indexes, SQLite's FTS5 documents) for
every match, or by id for the tickets a queue page walks through.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import (
    Integer,
    Select,
    Text,
    any_,
    bindparam,
    column,
    func,
    null,
    select,
    text,
    union,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery, TextualSelect

from helpdesk.customers.models import Customer
from helpdesk.normalize import normalize_text
from helpdesk.tickets.models import Message, Ticket

MAX_SEARCH_LENGTH = 200


def search_term(raw: str | None) -> str:
    """The text a search looks for: NFC, trimmed, lower case, at most MAX_SEARCH_LENGTH."""
    return normalize_text(raw or "").strip().lower()[:MAX_SEARCH_LENGTH]


def like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _contains(session: Session, column_, term: str) -> ColumnElement[bool]:
    """Case-insensitive substring test, in the form the search indexes serve.

    SQLite's LIKE already folds ASCII case (and its lower() folds nothing more), so it
    skips the lower() call on every row. On PostgreSQL, pg_trgm serves a pattern with
    three letters in a row; for anything shorter it extracts no trigram and would scan,
    so those terms first narrow the rows to texts holding all of the term's characters
    (the `_chars` GIN indexes), and LIKE then checks the order.
    """
    if _is_sqlite(session):
        return column_.like(like_pattern(term), escape="\\")
    lowered = func.lower(column_)
    condition = lowered.like(like_pattern(term), escape="\\")
    if _TRIGRAM_RUN.search(term):
        return condition
    chars = sorted({c for c in term if not c.isspace()})
    characters = func.string_to_array(lowered, null())
    wanted = bindparam("chars", chars, type_=ARRAY(Text), unique=True)
    return characters.op("@>")(wanted) & condition


# Three characters pg_trgm counts as letters or digits, in a row.
_TRIGRAM_RUN = re.compile(r"[^\W_]{3}")
_MAX_TRIGRAMS = 2000


def _fts_ticket_ids(session: Session, term: str) -> TextualSelect | None:
    """Ids of tickets whose subject or message text contains `term` (SQLite FTS5).

    A one- or two-character term becomes the trigrams that start with it (listed by
    the fts5vocab table); that finds every occurrence because each text is indexed
    with two trailing newlines. None when the index cannot answer (a very common
    prefix) and a LIKE scan must.
    """
    if len(term) >= 3:
        phrases = [term]
    else:
        phrases = session.scalars(
            text(
                "SELECT term FROM ticket_search_vocab WHERE term >= :low AND term < :high LIMIT :n"
            ).bindparams(low=term, high=term + "\U0010ffff", n=_MAX_TRIGRAMS + 1)
        ).all()
        if len(phrases) > _MAX_TRIGRAMS:
            return None
        if not phrases:
            return text("SELECT NULL AS rowid WHERE 0").columns(column("rowid", Integer))
    query = " OR ".join('"' + p.replace('"', '""') + '"' for p in phrases)
    return (
        text("SELECT rowid FROM ticket_search WHERE ticket_search MATCH :query")
        .bindparams(query=query)
        .columns(column("rowid", Integer))
    )


def _customer_matches(session: Session, term: str) -> Select:
    return select(Customer.id).where(
        _found(session, Customer.email, term) | _found(session, Customer.name, term)
    )


def indexed_matches(session: Session, term: str, customer_ids: list[int] | None = None) -> Subquery:
    """Ids of all tickets whose subject, message text, customer email or name contain
    `term`, from index lookups: PostgreSQL's GIN indexes, SQLite's FTS5 documents.

    One id set from index-friendly lookups, rather than an OR the planner would answer
    by testing every ticket. Customers carry no search index (it slowed imports down
    too much); their table is small next to the messages and is scanned, unless the
    caller already has the matching customers (see matching_customers).
    """
    by_customer = select(Ticket.id).where(_of_customers(session, term, customer_ids))
    indexed = _fts_ticket_ids(session, term) if _is_sqlite(session) else None
    if indexed is not None:
        hits = indexed.subquery()
        matching = union(select(hits.c.rowid), by_customer)
    else:
        matching = union(
            select(Ticket.id).where(_contains(session, Ticket.subject, term)),
            by_customer,
            select(Message.ticket_id).where(_contains(session, Message.body_text, term)),
        )
    return matching.subquery("matches")


def _found(session: Session, column_, term: str) -> ColumnElement[bool]:
    """The substring test for rows already picked by id: written so that no search
    index can serve it, because probing a few rows beats reading an index's posting
    lists for a common term."""
    if _is_sqlite(session):
        return column_.like(like_pattern(term), escape="\\")
    if term.upper() == term.lower():
        # Nothing to fold (Hangul, digits): lower() would only cost time on every text.
        return func.strpos(column_, term) > 0
    return func.strpos(func.lower(column_), term) > 0


def _among(session: Session, column_, ticket_ids: Sequence[int]) -> ColumnElement[bool]:
    if _is_sqlite(session):
        return column_.in_(ticket_ids)
    # One array parameter rather than thousands of scalar ones.
    return column_ == any_(bindparam("ids", list(ticket_ids), type_=ARRAY(Integer), unique=True))


def matching_customers(session: Session, term: str) -> list[int] | None:
    """Ids of the customers whose email or name contain `term` (one scan of the table),
    or None when they are too many to pass around as a list."""
    found = list(session.scalars(_customer_matches(session, term).limit(MAX_LISTED_CUSTOMERS + 1)))
    return found if len(found) <= MAX_LISTED_CUSTOMERS else None


MAX_LISTED_CUSTOMERS = 2000


def _of_customers(
    session: Session, term: str, customer_ids: list[int] | None
) -> ColumnElement[bool]:
    if customer_ids is None:
        return Ticket.customer_id.in_(_customer_matches(session, term))
    return _among(session, Ticket.customer_id, customer_ids)


def matching_among(
    session: Session, term: str, ticket_ids: Sequence[int], customer_ids: list[int] | None
) -> set[int]:
    """Which of these tickets contain `term` in the subject, message text, customer
    email or name: a lookup by id, for a handful to a few hundred tickets.

    `customer_ids` are the customers that match (see matching_customers), found once
    per search rather than once per lookup; None when there were too many to list.
    """
    if not ticket_ids:
        return set()
    by_ticket = select(Ticket.id).where(
        _among(session, Ticket.id, ticket_ids),
        _found(session, Ticket.subject, term) | _of_customers(session, term, customer_ids),
    )
    by_message = select(Message.ticket_id).where(
        _among(session, Message.ticket_id, ticket_ids), _found(session, Message.body_text, term)
    )
    return set(session.scalars(union(by_ticket, by_message)))
