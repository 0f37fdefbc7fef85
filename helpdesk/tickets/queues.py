"""Ticket queues for agents: the views, their counts, filters, search, sorting and bulk actions.

A view is a membership rule (`view_condition`); filters and search narrow it further.
Counts for every view come from one grouped query so the navigation stays cheap.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Integer,
    Select,
    Text,
    any_,
    bindparam,
    case,
    column,
    func,
    literal,
    null,
    select,
    text,
    union,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery, TextualSelect

from helpdesk.auth.models import Role, User
from helpdesk.customers.models import Customer, Tag
from helpdesk.faq.service import record_resolution
from helpdesk.mail.models import Mailbox
from helpdesk.normalize import normalize_text
from helpdesk.tickets.models import (
    DONE_STATUSES,
    OPEN_STATUSES,
    Message,
    MessageKind,
    Priority,
    Ticket,
    TicketStatus,
    ticket_tags,
)

MAX_PAGE_SIZE = 100
MAX_SEARCH_LENGTH = 200
MAX_BULK = 500
UPDATES_LIMIT = 50


class View(enum.StrEnum):
    unassigned = "unassigned"
    mine = "mine"
    open = "open"
    waiting = "waiting"
    overdue = "overdue"
    done = "done"
    all = "all"


COUNTED_VIEWS = (View.unassigned, View.mine, View.open, View.waiting, View.overdue)


class Sort(enum.StrEnum):
    updated = "updated"
    created = "created"
    due = "due"
    priority = "priority"


PRIORITY_RANK = {Priority.urgent: 0, Priority.high: 1, Priority.normal: 2, Priority.low: 3}


class QueueError(ValueError):
    """A refused request: the message says what to fix; nothing was changed."""


@dataclass(frozen=True)
class QueueFilter:
    view: View = View.unassigned
    mailbox_id: int | None = None
    assignee_id: int | None = None
    status: TicketStatus | None = None
    priority: Priority | None = None
    tag: str = ""
    customer_id: int | None = None
    text: str = ""
    sort: Sort = Sort.updated
    descending: bool = True


@dataclass(frozen=True)
class QueueRow:
    ticket: Ticket
    customer_name: str
    customer_email: str
    assignee_name: str | None
    mailbox_name: str | None


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    # With exact False a search stopped counting: there are more than `total` matches.
    total: int
    number: int
    size: int
    exact: bool = True


def view_condition(view: View, user_id: int, now: datetime) -> ColumnElement[bool]:
    """Which tickets belong to a view, for the user looking at it."""
    active = Ticket.status.in_(OPEN_STATUSES)
    match view:
        case View.unassigned:
            return active & Ticket.assignee_id.is_(None)
        case View.mine:
            return active & (Ticket.assignee_id == user_id)
        case View.open:
            return active
        case View.waiting:
            return Ticket.status == TicketStatus.waiting
        case View.overdue:
            return active & (Ticket.response_due_at < now)
        case View.done:
            return Ticket.status.in_(DONE_STATUSES)
        case View.all:
            return literal(True)
    raise QueueError(_l("Unknown view %(view)s.", view=view))


def count_views(session: Session, user_id: int, now: datetime) -> dict[View, int | None]:
    """The size of every active view, from one grouped query over live tickets.

    Only live tickets are counted (an index-only scan of a few thousand rows), so the
    archive views (Resolved/Closed, All tickets) show no count.
    """
    buckets = (
        select(
            Ticket.status,
            Ticket.assignee_id.is_(None).label("unassigned"),
            (func.coalesce(Ticket.assignee_id, 0) == user_id).label("mine"),
            func.coalesce(Ticket.response_due_at < now, False).label("overdue"),
            func.count().label("n"),
        )
        .where(Ticket.status.in_(OPEN_STATUSES))
        .group_by(text("1"), text("2"), text("3"), text("4"))
    )
    counts: dict[View, int | None] = dict.fromkeys(COUNTED_VIEWS, 0)
    counts |= {View.done: None, View.all: None}
    for status, unassigned, mine, overdue, n in session.execute(buckets):
        counts[View.open] += n
        if status == TicketStatus.waiting:
            counts[View.waiting] += n
        if unassigned:
            counts[View.unassigned] += n
        if mine:
            counts[View.mine] += n
        if overdue:
            counts[View.overdue] += n
    return counts


NAV_COUNTED_VIEWS = (View.unassigned, View.mine)


def nav_counts(session: Session, user_id: int) -> dict[View, int]:
    """Unassigned and Mine, for the main navigation on every page: one grouped count
    over the live tickets that nobody or this user holds (two index ranges)."""
    unassigned = Ticket.assignee_id.is_(None)
    buckets = (
        select(unassigned, func.count())
        .where(Ticket.status.in_(OPEN_STATUSES), unassigned | (Ticket.assignee_id == user_id))
        .group_by(unassigned)
    )
    counts = dict.fromkeys(NAV_COUNTED_VIEWS, 0)
    for is_unassigned, n in session.execute(buckets):
        counts[View.unassigned if is_unassigned else View.mine] += n
    return counts


def search_term(raw: str | None) -> str:
    """The text a search looks for: NFC, trimmed, lower case, at most MAX_SEARCH_LENGTH."""
    return normalize_text(raw or "").strip().lower()[:MAX_SEARCH_LENGTH]


def _like(term: str) -> str:
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
        return column_.like(_like(term), escape="\\")
    lowered = func.lower(column_)
    condition = lowered.like(_like(term), escape="\\")
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
        return column_.like(_like(term), escape="\\")
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


def _conditions(flt: QueueFilter, user_id: int, now: datetime) -> list:
    conditions = [view_condition(flt.view, user_id, now)]
    if flt.mailbox_id is not None:
        conditions.append(Ticket.mailbox_id == flt.mailbox_id)
    if flt.assignee_id is not None:
        conditions.append(Ticket.assignee_id == flt.assignee_id)
    if flt.status is not None:
        conditions.append(Ticket.status == flt.status)
    if flt.priority is not None:
        conditions.append(Ticket.priority == flt.priority)
    if flt.customer_id is not None:
        conditions.append(Ticket.customer_id == flt.customer_id)
    if flt.tag:
        conditions.append(
            Ticket.id.in_(
                select(ticket_tags.c.ticket_id)
                .join(Tag, Tag.id == ticket_tags.c.tag_id)
                .where(Tag.name == flt.tag)
            )
        )
    return conditions


def _order_by(flt: QueueFilter) -> list:
    match flt.sort:
        case Sort.created:
            key = Ticket.created_at
        case Sort.due:
            # Tickets without a due time go last either way.
            due = Ticket.response_due_at.desc() if flt.descending else Ticket.response_due_at
            return [Ticket.response_due_at.is_(None), due, Ticket.id]
        case Sort.priority:
            rank = case({p.value: r for p, r in PRIORITY_RANK.items()}, value=Ticket.priority)
            key = rank
            return [rank.desc() if flt.descending else rank, Ticket.updated_at.desc(), Ticket.id]
        case _:
            key = Ticket.updated_at
    return [key.desc(), Ticket.id.desc()] if flt.descending else [key, Ticket.id]


def _page_query(ids: Select, flt: QueueFilter, offset: int, limit: int) -> Select:
    """Pick the page's ticket ids first, then join the names for those rows only.

    Joining before the LIMIT would make the database join (and sort) every ticket of
    a large view such as Resolved/Closed.
    """
    page_ids = ids.order_by(*_order_by(flt)).offset(offset).limit(limit).subquery()
    return (
        select(Ticket, Customer.name, Customer.email, User.name, Mailbox.name)
        .join(page_ids, page_ids.c.id == Ticket.id)
        .join(Customer, Customer.id == Ticket.customer_id)
        .outerjoin(User, User.id == Ticket.assignee_id)
        .outerjoin(Mailbox, Mailbox.id == Ticket.mailbox_id)
        .order_by(*_order_by(flt))
        .options(selectinload(Ticket.tags))
    )


def _rows(session: Session, query: Select) -> list[QueueRow]:
    return [
        QueueRow(ticket, customer_name, customer_email, assignee_name, mailbox_name)
        for ticket, customer_name, customer_email, assignee_name, mailbox_name in session.execute(
            query
        )
    ]


def _rows_for(session: Session, ticket_ids: Sequence[int], flt: QueueFilter) -> list[QueueRow]:
    if not ticket_ids:
        return []
    ids = select(Ticket.id).where(Ticket.id.in_(ticket_ids))
    return _rows(session, _page_query(ids, flt, 0, len(ticket_ids)))


def list_tickets(
    session: Session,
    flt: QueueFilter,
    *,
    user_id: int,
    now: datetime,
    page: int = 1,
    size: int = 25,
) -> QueuePage:
    """One page of the view, filtered, searched and sorted, with the total for paging."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    page = max(1, page)
    offset = (page - 1) * size
    conditions = _conditions(flt, user_id, now)
    term = search_term(flt.text)
    if term:
        return _search_page(session, flt, term, conditions, offset, page, size)
    ids = select(Ticket.id).where(*conditions)
    total = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    rows = _rows(session, _page_query(ids, flt, offset, size))
    return QueuePage(rows, total, page, size)


# A search first reads the view in its own order, a chunk at a time, testing each
# ticket by id: a common term fills the page from the first few hundred tickets, and
# the page then says "more than N" rather than counting thousands of matches. When the
# matches are too sparse for that to pay off, the search indexes list every match and
# the page gets an exact total.
SEARCH_CHUNKS = (100, 300, 800)
SEARCH_WALK_LIMIT = sum(SEARCH_CHUNKS)


def _search_page(
    session: Session,
    flt: QueueFilter,
    term: str,
    conditions: list,
    offset: int,
    page: int,
    size: int,
) -> QueuePage:
    wanted = offset + size + 1  # one more than the page shows: is there a next page?
    first = list(
        session.scalars(
            select(Ticket.id)
            .where(*conditions)
            .order_by(*_order_by(flt))
            .limit(SEARCH_WALK_LIMIT + 1)
        )
    )
    customers = matching_customers(session, term)
    found: list[int] = []
    examined = 0
    for chunk_size in SEARCH_CHUNKS:
        chunk = first[examined : examined + chunk_size]
        matched = matching_among(session, term, chunk, customers)
        found.extend(ticket_id for ticket_id in chunk if ticket_id in matched)
        examined += len(chunk)
        if examined == len(first):
            # The whole view was read: the count is exact.
            return QueuePage(
                _rows_for(session, found[offset : offset + size], flt), len(found), page, size
            )
        if len(found) >= wanted:
            rows = _rows_for(session, found[offset : offset + size], flt)
            return QueuePage(rows, offset + size, page, size, exact=False)
        # At this rate, would the next chunks fill the page?
        expected = len(found) / examined * (SEARCH_WALK_LIMIT - examined)
        if len(found) + expected < wanted:
            break
    matches = indexed_matches(session, term, customers)
    found = list(
        session.scalars(
            select(Ticket.id)
            .where(*conditions, Ticket.id.in_(select(matches.c[0])))
            .order_by(*_order_by(flt))
        )
    )
    return QueuePage(_rows_for(session, found[offset : offset + size], flt), len(found), page, size)


@dataclass(frozen=True)
class Updates:
    rows: list[QueueRow]
    changed_ids: list[int]
    counts: dict[View, int]
    latest: datetime | None


def updates_since(
    session: Session, flt: QueueFilter, *, user_id: int, since: datetime, now: datetime
) -> Updates:
    """What changed after `since`: rows now in the view, ids of all changed tickets, counts.

    The page inserts the rows and drops rows of changed tickets that left the view.
    """
    changed = Ticket.updated_at > since
    changed_ids = list(
        session.scalars(
            select(Ticket.id).where(changed).order_by(Ticket.updated_at.desc()).limit(500)
        )
    )
    rows: list[QueueRow] = []
    if changed_ids:
        conditions = [*_conditions(flt, user_id, now), changed]
        term = search_term(flt.text)
        if term:
            customers = matching_customers(session, term)
            matched = matching_among(session, term, changed_ids, customers)
            conditions.append(Ticket.id.in_(sorted(matched)))
        ids = select(Ticket.id).where(*conditions)
        rows = _rows(session, _page_query(ids, flt, 0, UPDATES_LIMIT))
    latest = session.scalar(select(func.max(Ticket.updated_at)))
    return Updates(rows, changed_ids, count_views(session, user_id, now), latest)


def latest_change(session: Session) -> datetime | None:
    return session.scalar(select(func.max(Ticket.updated_at)))


# -- bulk actions --------------------------------------------------------------------


class BulkAction(enum.StrEnum):
    assign = "assign"
    close = "close"
    tag = "tag"


@dataclass(frozen=True)
class BulkResult:
    action: BulkAction
    changed: int
    skipped: int = 0
    detail: str = ""
    ticket_ids: list[int] = field(default_factory=list)


def parse_ticket_ids(raw: Sequence[str]) -> list[int]:
    """Ticket ids from a form; anything that is not a plain id is refused, not dropped."""
    if not raw:
        raise QueueError(_l("Select at least one ticket."))
    if len(raw) > MAX_BULK:
        raise QueueError(_l("Select at most %(n)d tickets at once.", n=MAX_BULK))
    ids = []
    for value in raw:
        value = (value or "").strip()
        if not value.isdigit() or len(value) > 18:
            raise QueueError(
                _l("“%(value)s” is not a ticket number. Nothing was changed.", value=value[:20])
            )
        ids.append(int(value))
    return sorted(set(ids))


def assignable_agents(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.role.in_((Role.agent, Role.admin)), User.is_active)
            .order_by(User.name)
        )
    )


def _clean_tag(raw: str) -> str:
    name = normalize_text(raw or "").strip().lower()
    if not name:
        raise QueueError(_l("Enter a tag."))
    if len(name) > 64:
        raise QueueError(_l("A tag has at most 64 characters."))
    return name


def bulk_update(
    session: Session,
    actor_id: int,
    raw_ids: Sequence[str],
    action: str,
    *,
    assignee_id: str | int | None = None,
    tag: str = "",
    now: datetime,
) -> BulkResult:
    """Assign, close or tag many tickets; all or nothing. Does not commit."""
    try:
        action = BulkAction(action)
    except ValueError:
        raise QueueError(_l("Choose what to do with the selected tickets.")) from None
    ids = parse_ticket_ids(raw_ids)
    found = set(session.scalars(select(Ticket.id).where(Ticket.id.in_(ids))))
    missing = [i for i in ids if i not in found]
    if missing:
        listed = ", ".join(f"#{i}" for i in missing[:5])
        raise QueueError(
            _l("These tickets do not exist: %(ids)s. Nothing was changed.", ids=listed)
        )
    match action:
        case BulkAction.assign:
            return _bulk_assign(session, actor_id, ids, assignee_id, now)
        case BulkAction.close:
            return _bulk_close(session, actor_id, ids, now)
        case BulkAction.tag:
            return _bulk_tag(session, ids, _clean_tag(tag), now)


def _event(session: Session, ticket_id: int, actor_id: int, body: str, now: datetime) -> None:
    session.add(
        Message(
            ticket_id=ticket_id,
            kind=MessageKind.event,
            author_id=actor_id,
            body_text=body,
            created_at=now,
        )
    )


def _bulk_assign(session, actor_id, ids, raw_assignee, now) -> BulkResult:
    try:
        assignee_id = int(raw_assignee) if raw_assignee not in (None, "") else None
    except (TypeError, ValueError):
        assignee_id = -1
    if assignee_id is None:
        raise QueueError(_l("Choose an agent to assign the tickets to."))
    agent = session.get(User, assignee_id) if assignee_id > 0 else None
    if agent is None or not agent.is_active or agent.role not in (Role.agent, Role.admin):
        raise QueueError(
            _l("This agent does not exist or cannot take tickets. Nothing was changed.")
        )
    changing = list(
        session.scalars(
            select(Ticket.id).where(
                Ticket.id.in_(ids),
                Ticket.merged_into_id.is_(None),
                Ticket.assignee_id.is_distinct_from(agent.id),
            )
        )
    )
    if changing:
        session.execute(
            update(Ticket)
            .where(Ticket.id.in_(changing))
            .values(assignee_id=agent.id, updated_at=now, version=Ticket.version + 1)
            .execution_options(synchronize_session=False)
        )
        for ticket_id in changing:
            _event(session, ticket_id, actor_id, f"Assigned to {agent.name} (bulk action).", now)
    session.expire_all()
    return BulkResult(
        BulkAction.assign, len(changing), len(ids) - len(changing), agent.name, changing
    )


def _bulk_close(session, actor_id, ids, now) -> BulkResult:
    changing = list(
        session.scalars(
            select(Ticket.id).where(Ticket.id.in_(ids), Ticket.status != TicketStatus.closed)
        )
    )
    if changing:
        session.execute(
            update(Ticket)
            .where(Ticket.id.in_(changing))
            .values(
                status=TicketStatus.closed,
                closed_at=now,
                response_due_at=None,
                updated_at=now,
                version=Ticket.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        for ticket_id in changing:
            _event(session, ticket_id, actor_id, "Closed (bulk action).", now)
            record_resolution(session, ticket_id)
    session.expire_all()
    return BulkResult(BulkAction.close, len(changing), len(ids) - len(changing), "", changing)


def _bulk_tag(session, ids, name, now) -> BulkResult:
    from helpdesk.customers.service import tags_named

    tag = tags_named(session, [name])[0]
    tagged = set(
        session.scalars(
            select(ticket_tags.c.ticket_id).where(
                ticket_tags.c.tag_id == tag.id, ticket_tags.c.ticket_id.in_(ids)
            )
        )
    )
    changing = [i for i in ids if i not in tagged]
    if changing:
        session.execute(
            ticket_tags.insert(), [{"ticket_id": i, "tag_id": tag.id} for i in changing]
        )
        session.execute(
            update(Ticket)
            .where(Ticket.id.in_(changing))
            .values(updated_at=now, version=Ticket.version + 1)
            .execution_options(synchronize_session=False)
        )
    session.expire_all()
    return BulkResult(BulkAction.tag, len(changing), len(ids) - len(changing), name, changing)


# -- choices for the filter form -----------------------------------------------------


@dataclass(frozen=True)
class FilterChoices:
    mailboxes: list[Mailbox]
    agents: list[User]
    tags: list[str]


def filter_choices(session: Session) -> FilterChoices:
    return FilterChoices(
        mailboxes=list(session.scalars(select(Mailbox).order_by(Mailbox.name))),
        agents=assignable_agents(session),
        tags=list(
            session.scalars(
                select(Tag.name).where(Tag.id.in_(select(ticket_tags.c.tag_id))).order_by(Tag.name)
            )
        ),
    )


def customer_label(session: Session, customer_id: int) -> str | None:
    customer = session.get(Customer, customer_id)
    if customer is None:
        return None
    return f"{customer.name} <{customer.email}>" if customer.name else customer.email
