"""Ticket queues for agents: the views, their counts, filters, sorting and paging, and
the choices of the filter form. Finding the tickets that contain a term is in
`queue_search`; acting on many tickets at once in `bulk_actions`.

A view is a membership rule (`view_condition`); filters and search narrow it further.
Counts for every view come from one grouped query so the navigation stays cheap.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, case, func, literal, select, text
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from helpdesk.auth.models import Role, User
from helpdesk.customers.models import Customer, Tag
from helpdesk.mail.models import Mailbox
from helpdesk.tickets.models import (
    DONE_STATUSES,
    OPEN_STATUSES,
    Priority,
    Ticket,
    TicketStatus,
    ticket_tags,
)
from helpdesk.tickets.queue_search import (
    indexed_matches,
    matching_among,
    matching_customers,
    search_term,
)

MAX_PAGE_SIZE = 100
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


def tickets_after(
    session: Session,
    flt: QueueFilter,
    *,
    user_id: int,
    now: datetime,
    after_id: int,
    limit: int,
    updated_since: datetime | None = None,
) -> list[Ticket]:
    """The view's tickets, filtered, in id order after `after_id`: the API's cursor pages,
    which must neither skip nor repeat a ticket when tickets change meanwhile."""
    conditions = _conditions(flt, user_id, now)
    if updated_since is not None:
        conditions.append(Ticket.updated_at >= updated_since)
    return list(
        session.scalars(
            select(Ticket)
            .where(*conditions, Ticket.id > after_id)
            .order_by(Ticket.id)
            .limit(limit)
            .options(selectinload(Ticket.tags))
        )
    )


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


# -- choices for the filter form -----------------------------------------------------


def assignable_agents(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.role.in_((Role.agent, Role.admin)), User.is_active)
            .order_by(User.name)
        )
    )


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
