"""One time-ordered story per customer, merged from small per-source adapters.

Each feature that has something to say about a customer (purchases and notes here;
tickets, campaign deliveries, opens and clicks later) registers an adapter with
``register_source``. An adapter returns that source's newest entries first, at most
``limit`` of them, so the merge never needs more than ``limit`` rows from any source.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from helpdesk.customers.models import ContactNote, Customer, NoteKind, Purchase
from helpdesk.text import LazyText
from helpdesk.text import lazy_text as _l

DETAIL_LENGTH = 280


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    # Text from the database (a ticket subject) as it is, or a lazy text that becomes
    # text in the viewer's language when the page shows it.
    title: str | LazyText
    detail: str | LazyText = ""
    url: str | None = None


Source = Callable[[Session, int, int], list[TimelineEntry]]
_sources: dict[str, Source] = {}


def register_source(kind_name: str, fn: Source) -> Source:
    """Add (or replace, so re-imports stay harmless) the adapter for one kind of event."""
    _sources[kind_name] = fn
    return fn


def registered_sources() -> list[str]:
    return list(_sources)


def customer_timeline(
    session: Session, customer_id: int, limit: int = 50, hidden_kinds: frozenset[str] = frozenset()
) -> list[TimelineEntry]:
    """Newest first across all sources but the hidden ones; ties keep the order the sources
    were registered."""
    streams = [
        sorted(fn(session, customer_id, limit), key=lambda e: e.at, reverse=True)
        for kind, fn in _sources.items()
        if kind not in hidden_kinds
    ]
    merged = heapq.merge(*streams, key=lambda e: e.at, reverse=True)
    return list(islice(merged, limit))


def shorten(text: str, length: int = DETAIL_LENGTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _customer_created(session: Session, customer_id: int, limit: int) -> list[TimelineEntry]:
    created = session.scalar(select(Customer.created_at).where(Customer.id == customer_id))
    if created is None:
        return []
    return [TimelineEntry(at=created, kind="customer", title=_l("Customer record created"))]


def _subscription(session: Session, customer_id: int, limit: int) -> list[TimelineEntry]:
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
            )
        )
    if row.unsubscribed_at is not None:
        entries.append(
            TimelineEntry(at=row.unsubscribed_at, kind="subscription", title=_l("Unsubscribed"))
        )
    return entries[:limit]


def _purchases(session: Session, customer_id: int, limit: int) -> list[TimelineEntry]:
    purchases = session.scalars(
        select(Purchase)
        .where(Purchase.customer_id == customer_id)
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
        )
        for p in purchases
    ]


_NOTE_TITLES = {
    NoteKind.call: _l("Phone call"),
    NoteKind.meeting: _l("Meeting"),
    NoteKind.chat: _l("Chat"),
    NoteKind.other: _l("Contact note"),
}


def _notes(session: Session, customer_id: int, limit: int) -> list[TimelineEntry]:
    notes = session.scalars(
        select(ContactNote)
        .options(selectinload(ContactNote.author))
        .where(ContactNote.customer_id == customer_id)
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
        )
        for n in notes
    ]


register_source("customer", _customer_created)
register_source("subscription", _subscription)
register_source("purchase", _purchases)
register_source("note", _notes)
