"""Ticket queues for agents: the views, their counts, filters, search, sorting and bulk actions.

A view is a membership rule (`view_condition`); filters and search narrow it further.
Counts for every view come from one grouped query so the navigation stays cheap.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, Select, case, column, func, literal, select, text, union, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery, TextualSelect

from helpdesk.auth.models import Role, User
from helpdesk.customers.models import Customer, Tag
from helpdesk.customers.normalize import normalize_text
from helpdesk.mail.models import Mailbox
from helpdesk.tickets.models import (
    Message,
    MessageKind,
    Priority,
    Ticket,
    TicketStatus,
    ticket_tags,
)

ACTIVE = (TicketStatus.new, TicketStatus.open, TicketStatus.waiting)
DONE = (TicketStatus.resolved, TicketStatus.closed)
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
    total: int
    number: int
    size: int


def view_condition(view: View, user_id: int, now: datetime) -> ColumnElement[bool]:
    """Which tickets belong to a view, for the user looking at it."""
    active = Ticket.status.in_(ACTIVE)
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
            return Ticket.status.in_(DONE)
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
        .where(Ticket.status.in_(ACTIVE))
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


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fts_ticket_ids(session: Session, term: str) -> TextualSelect | None:
    """Ids of tickets whose subject or message text contains `term` (SQLite FTS5).

    A two-character term becomes the trigrams that start with it (listed by the
    fts5vocab table); that finds every occurrence because each text is indexed with a
    trailing newline. None when the index cannot answer (one character, or a very
    common pair) and a LIKE scan must.
    """
    if len(term) >= 3:
        phrases = [term]
    elif len(term) == 2:
        phrases = session.scalars(
            text(
                "SELECT term FROM ticket_search_vocab WHERE term >= :low AND term < :high LIMIT :n"
            ).bindparams(low=term, high=term + "\U0010ffff", n=_MAX_TRIGRAMS + 1)
        ).all()
        if len(phrases) > _MAX_TRIGRAMS:
            return None
        if not phrases:
            return text("SELECT NULL AS rowid WHERE 0").columns(column("rowid", Integer))
    else:
        return None
    query = " OR ".join('"' + p.replace('"', '""') + '"' for p in phrases)
    return (
        text("SELECT rowid FROM ticket_search WHERE ticket_search MATCH :query")
        .bindparams(query=query)
        .columns(column("rowid", Integer))
    )


_MAX_TRIGRAMS = 2000


def _contains(session: Session, column_, term: str) -> ColumnElement[bool]:
    """Case-insensitive substring test. SQLite's LIKE already folds ASCII case (and its
    lower() folds nothing more), so it skips the lower() call on every row."""
    if session.get_bind().dialect.name == "sqlite":
        return column_.like(_like(term), escape="\\")
    return func.lower(column_).like(_like(term), escape="\\")


def search_matches(session: Session, raw: str) -> Subquery | None:
    """Ids of tickets whose subject, message text, customer email or name contain the text.

    PostgreSQL answers the subject and message parts from trigram GIN indexes (terms
    of three characters or more); SQLite from its per-ticket FTS5 trigram table.
    """
    term = normalize_text(raw or "").strip().lower()[:MAX_SEARCH_LENGTH]
    if not term:
        return None
    customers = select(Customer.id).where(
        _contains(session, Customer.email, term) | _contains(session, Customer.name, term)
    )
    by_customer = select(Ticket.id).where(Ticket.customer_id.in_(customers))
    indexed = (
        _fts_ticket_ids(session, term) if session.get_bind().dialect.name == "sqlite" else None
    )
    if indexed is not None:
        hits = indexed.subquery()
        matching = union(select(hits.c.rowid), by_customer)
    else:
        # One id set from index-friendly lookups, rather than an OR the planner would
        # answer by testing every ticket.
        matching = union(
            select(Ticket.id).where(_contains(session, Ticket.subject, term)),
            by_customer,
            select(Message.ticket_id).where(_contains(session, Message.body_text, term)),
        )
    return matching.subquery("matches")


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


def _matching_ids(session: Session, flt: QueueFilter, conditions: list) -> Select:
    """The ids of the view's tickets; a search joins its match set, so the database
    walks the (usually small) set of hits instead of probing it for every ticket."""
    query = select(Ticket.id)
    matches = search_matches(session, flt.text)
    if matches is not None:
        query = query.join(matches, matches.c[0] == Ticket.id)
    return query.where(*conditions)


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
            return [rank.desc() if flt.descending else rank, Ticket.updated_at.desc()]
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
    ids = _matching_ids(session, flt, _conditions(flt, user_id, now))
    total = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    rows = _rows(session, _page_query(ids, flt, (page - 1) * size, size))
    return QueuePage(rows, total, page, size)


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
        ids = _matching_ids(session, flt, conditions)
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
