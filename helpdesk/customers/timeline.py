"""One time-ordered story per customer, merged from small per-source adapters.

Each feature that has something to say about a customer (purchases and notes here;
tickets, campaign deliveries, opens and clicks later) registers an adapter with
``register_source``. An adapter returns that source's newest entries first, at most
``limit`` of them and only those older than the cursor it is given, so the merge never
needs more than ``limit`` rows from any source, on the first page or an older one.

Older pages are keyset pages: the cursor is the last entry shown (its time, its
adapter and its row id there), never an offset, so a page costs the same few queries
however far back it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.orm import Session, selectinload

from helpdesk.customers.models import ContactNote, Customer, NoteKind, Purchase
from helpdesk.text import LazyText
from helpdesk.text import lazy_text as _l

DETAIL_LENGTH = 280
# Above every row id (the ids are INTEGER columns): "older than (at, LAST_ID)" takes in
# every entry at `at` itself.
LAST_ID = 2**31 - 1


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    # Text from the database (a ticket subject) as it is, or a lazy text that becomes
    # text in the viewer's language when the page shows it.
    title: str | LazyText
    detail: str | LazyText = ""
    url: str | None = None
    # The row the entry comes from, unique within its adapter: with `at`, the keyset.
    id: int = 0
    # The adapter's name, filled in by the merge.
    part: str = ""


# (at, id): the adapter returns only entries that come before it in (at, id) order.
Older = tuple[datetime, int] | None
Source = Callable[[Session, int, int, Older], list[TimelineEntry]]
_sources: dict[str, tuple[str, Source]] = {}  # by part name, in registration order


def register_source(kind_name: str, fn: Source, part: str | None = None) -> Source:
    """Add (or replace, so re-imports stay harmless) an adapter for one kind of event;
    a kind may have several adapters (`part`), one per table or time column."""
    _sources[part or kind_name] = (kind_name, fn)
    return fn


def registered_sources() -> list[str]:
    return list(dict.fromkeys(kind for kind, _fn in _sources.values()))


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    """The last entry of a page: the next page starts after it."""

    at: datetime
    part: str
    id: int

    def token(self) -> str:
        return f"{self.at.isoformat()}~{self.part}~{self.id}"

    @classmethod
    def parse(cls, token: str) -> Cursor:
        """Raises BadCursor for a token `token()` did not make."""
        try:
            at_text, part, id_text = token.split("~")
            at, id_ = datetime.fromisoformat(at_text), int(id_text)
        except ValueError:
            raise BadCursor(token) from None
        if at.tzinfo is None or part not in _sources or not 0 <= id_ < LAST_ID:
            raise BadCursor(token)
        return cls(at, part, id_)


@dataclass(frozen=True)
class TimelinePage:
    entries: list[TimelineEntry]
    older: Cursor | None  # where the next older page starts; None at the beginning


def older_than(at: ColumnElement, id_: ColumnElement, older: Older) -> ColumnElement[bool]:
    """The adapter's WHERE for its keyset: rows before `older` in (at, id) order."""
    if older is None:
        return true()
    return or_(at < older[0], and_(at == older[0], id_ < older[1]))


def is_older(entry: TimelineEntry, older: Older) -> bool:
    """`older_than` for entries an adapter makes without a query."""
    return older is None or (entry.at, entry.id) < older


def _older_for(part_index: int, cursor: Cursor | None) -> Older:
    """Translate the page cursor into each adapter's own: the merge orders ties in time
    by adapter (registration order), then by id, newest first."""
    if cursor is None:
        return None
    cursor_index = list(_sources).index(cursor.part)
    if part_index < cursor_index:
        return (cursor.at, 0)
    if part_index == cursor_index:
        return (cursor.at, cursor.id)
    return (cursor.at, LAST_ID)


def timeline_page(
    session: Session,
    customer_id: int,
    limit: int = 50,
    hidden_kinds: frozenset[str] = frozenset(),
    after: Cursor | None = None,
) -> TimelinePage:
    """Newest first across all sources but the hidden ones, starting after `after`; ties
    in time keep the order the sources were registered."""
    found: list[tuple[int, TimelineEntry]] = []
    for index, (part, (kind, fn)) in enumerate(_sources.items()):
        if kind in hidden_kinds:
            continue
        for entry in fn(session, customer_id, limit + 1, _older_for(index, after)):
            found.append((index, replace(entry, part=part)))
    found.sort(key=lambda item: (item[1].at, -item[0], item[1].id), reverse=True)
    entries = [entry for _index, entry in found[: limit + 1]]
    if len(entries) <= limit:
        return TimelinePage(entries, None)
    last = entries[limit - 1]
    return TimelinePage(entries[:limit], Cursor(last.at, last.part, last.id))


def customer_timeline(
    session: Session, customer_id: int, limit: int = 50, hidden_kinds: frozenset[str] = frozenset()
) -> list[TimelineEntry]:
    """The newest page of the timeline."""
    return timeline_page(session, customer_id, limit, hidden_kinds).entries


def shorten(text: str, length: int = DETAIL_LENGTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _customer_created(
    session: Session, customer_id: int, limit: int, older: Older
) -> list[TimelineEntry]:
    created = session.scalar(select(Customer.created_at).where(Customer.id == customer_id))
    if created is None:
        return []
    entry = TimelineEntry(
        at=created, kind="customer", title=_l("Customer record created"), id=customer_id
    )
    return [entry] if is_older(entry, older) else []


def _subscription(
    session: Session, customer_id: int, limit: int, older: Older
) -> list[TimelineEntry]:
    row = session.execute(
        select(Customer.consent_at, Customer.consent_source, Customer.unsubscribed_at).where(
            Customer.id == customer_id
        )
    ).one_or_none()
    if row is None:
        return []
    entries = []
    if row.consent_at is not None:
        entries.append(
            TimelineEntry(
                at=row.consent_at,
                kind="subscription",
                title=_l("Subscribed to newsletters"),
                detail=row.consent_source,
                id=1,
            )
        )
    if row.unsubscribed_at is not None:
        entries.append(
            TimelineEntry(
                at=row.unsubscribed_at, kind="subscription", title=_l("Unsubscribed"), id=2
            )
        )
    return [e for e in entries if is_older(e, older)][:limit]


def _purchases(session: Session, customer_id: int, limit: int, older: Older) -> list[TimelineEntry]:
    purchases = session.scalars(
        select(Purchase)
        .where(
            Purchase.customer_id == customer_id,
            older_than(Purchase.purchased_at, Purchase.id, older),
        )
        .order_by(Purchase.purchased_at.desc(), Purchase.id.desc())
        .limit(limit)
    )
    return [
        TimelineEntry(
            at=p.purchased_at,
            kind="purchase",
            title=_l("Bought %(product)s", product=p.product),
            detail=_l(
                "Quantity %(quantity)d · %(amount)s %(currency)s",
                quantity=p.quantity,
                amount=p.amount,
                currency=p.currency,
            ),
            url=None,
            id=p.id,
        )
        for p in purchases
    ]


_NOTE_TITLES = {
    NoteKind.call: _l("Phone call"),
    NoteKind.meeting: _l("Meeting"),
    NoteKind.chat: _l("Chat"),
    NoteKind.other: _l("Contact note"),
}


def _notes(session: Session, customer_id: int, limit: int, older: Older) -> list[TimelineEntry]:
    notes = session.scalars(
        select(ContactNote)
        .options(selectinload(ContactNote.author))
        .where(
            ContactNote.customer_id == customer_id,
            older_than(ContactNote.happened_at, ContactNote.id, older),
        )
        .order_by(ContactNote.happened_at.desc(), ContactNote.id.desc())
        .limit(limit)
    )
    return [
        TimelineEntry(
            at=n.happened_at,
            kind="note",
            title=_NOTE_TITLES[n.kind]
            if n.author is None
            else _l("%(kind)s by %(author)s", kind=_NOTE_TITLES[n.kind], author=n.author.name),
            detail=shorten(n.body),
            id=n.id,
        )
        for n in notes
    ]


register_source("customer", _customer_created)
register_source("subscription", _subscription)
register_source("purchase", _purchases)
register_source("note", _notes)
