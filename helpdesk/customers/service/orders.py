"""Orders from another system (a shop), keyed by that system's name and order id: sent
again, an order is stored once; changed (a new amount, a refund, a cancellation), it
updates its row, and lifetime values follow (helpdesk.customers.models.counted_amount).

A batch is checked whole before anything is written, then written with one set-based
INSERT ... ON CONFLICT DO UPDATE, on PostgreSQL and SQLite alike; the unique index on
(source, order_id) keeps one row per order also when two batches race.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, String, func, literal_column
from sqlalchemy.orm import Session

from helpdesk.customers.models import Customer, Purchase, PurchaseStatus
from helpdesk.customers.service.customers import CustomerData, create_customer
from helpdesk.customers.service.errors import CustomerInvalid, PurchaseInvalid
from helpdesk.customers.service.purchases import _money, _validate
from helpdesk.db import utcnow
from helpdesk.events.service import Subject, record_events
from helpdesk.normalize import normalize_text
from helpdesk.text import LazyText
from helpdesk.text import lazy_text as _l

MAX_ORDERS = 1000
# Columns an order sent again may change, and all that are written.
_UPDATABLE = (
    "customer_id",
    "product",
    "quantity",
    "amount",
    "currency",
    "purchased_at",
    "status",
    "refunded_amount",
)
_WRITTEN = ("source", "order_id", "order_ref", "created_at", "updated_at", *_UPDATABLE)
# In RETURNING of INSERT ... ON CONFLICT DO UPDATE (PostgreSQL): a row version made by an
# insert has no deleting transaction, one made by the update has this one.
_INSERTED = literal_column("xmax = 0", Boolean).label("inserted")


@dataclass
class OrderData:
    order_id: str
    product: str
    amount: Decimal | str
    currency: str
    purchased_at: date | datetime | str
    quantity: int | str = 1
    status: PurchaseStatus | str = PurchaseStatus.paid
    # None: nothing refunded, or (status refunded) all of it.
    refunded_amount: Decimal | str | None = None
    # The customer, by one of these; an unknown address makes a new customer.
    customer_id: int | None = None
    customer_email: str | None = None
    customer_external_id: str | None = None
    customer_name: str = ""


@dataclass(frozen=True)
class OrderResult:
    order_id: str
    purchase_id: int
    customer_id: int
    outcome: str  # created | updated | unchanged


class OrdersInvalid(PurchaseInvalid):
    """Errors by field as `<index>.<field>`, the index of the order in the batch."""


def upsert_orders(
    session: Session, source: str, orders: Sequence[OrderData], *, now: datetime | None = None
) -> list[OrderResult]:
    """Stores the batch (at most MAX_ORDERS) or, when any order is refused, nothing."""
    # Here, not at the top: the importer package imports this service package.
    from helpdesk.customers.importer import bulk

    now = now or utcnow()
    errors: dict[str, LazyText] = {}
    source = normalize_text(source)
    if not source or len(source) > 50:
        errors["source"] = _l("A source name of 1 to 50 characters is required.")
    if len(orders) > MAX_ORDERS:
        errors["orders"] = _l("At most %(max)d orders at once.", max=MAX_ORDERS)
    rows = [_clean_row(order, index, now, errors) for index, order in enumerate(orders)]
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        if row["order_id"] in seen:
            errors[f"{index}.order_id"] = _l("The batch has this order twice.")
        seen[row["order_id"]] = index
    if not errors:
        _resolve_customers(session, orders, rows, errors)
    if errors:
        raise OrdersInvalid(errors)
    for row in rows:
        row["source"] = source
    stored = _stored(session, source, [row["order_id"] for row in rows])
    outcomes = {}
    changed = []
    for row in rows:
        before = stored.get(row["order_id"])
        if before is None:
            outcomes[row["order_id"]] = "created"
        elif any(before[key] != row[key] for key in _UPDATABLE):
            outcomes[row["order_id"]] = "updated"
        else:
            outcomes[row["order_id"]] = "unchanged"
            continue
        changed.append(row)
    ids = {order_id: row["id"] for order_id, row in stored.items()}
    if changed:
        # The CSV import's bulk upsert: COPY into a temporary table and one INSERT ...
        # SELECT ... ON CONFLICT on PostgreSQL, one executemany on SQLite.
        written = bulk._upsert(
            session,
            Purchase.__table__,
            _WRITTEN,
            [tuple(row[name] for name in _WRITTEN) for row in changed],
            conflict=["source", "order_id"],
            update=(*_UPDATABLE, "updated_at"),
            returning=(Purchase.order_id, Purchase.id, _INSERTED),
        )
        for order_id, purchase_id, inserted in written:
            ids[order_id] = purchase_id
            if not inserted:
                # A concurrent batch stored the order first; this one changed it.
                outcomes[order_id] = "updated"
    missing = [row["order_id"] for row in changed if row["order_id"] not in ids]
    if missing:
        ids |= {order_id: row["id"] for order_id, row in _stored(session, source, missing).items()}
        if session.get_bind().dialect.name == "postgresql":
            # Neither written nor stored before: a concurrent batch stored it just so.
            outcomes |= dict.fromkeys(missing, "unchanged")
    created = [row for row in rows if outcomes[row["order_id"]] == "created"]
    _record_created(session, source, created, ids, now)
    return [
        OrderResult(
            row["order_id"], ids[row["order_id"]], row["customer_id"], outcomes[row["order_id"]]
        )
        for row in rows
    ]


def _record_created(
    session: Session, source: str, created: list[dict], ids: dict[str, int], now: datetime
) -> None:
    """purchase.created for each new order, in the batch's transaction, by customer so a
    receiver gets a customer's events in order."""
    record_events(
        session,
        "purchase.created",
        [
            (
                Subject("customer", row["customer_id"]),
                {
                    "purchase_id": ids[row["order_id"]],
                    "customer_id": row["customer_id"],
                    "source": source,
                    "order_id": row["order_id"],
                    "product": row["product"],
                    "quantity": row["quantity"],
                    "amount": str(row["amount"]),
                    "currency": row["currency"],
                    "status": row["status"].value,
                    "refunded_amount": str(row["refunded_amount"]),
                    "purchased_at": row["purchased_at"].isoformat(),
                },
            )
            for row in created
        ],
        now=now,
    )


def _clean_row(order: OrderData, index: int, now: datetime, errors: dict) -> dict:
    own: dict[str, LazyText] = {}
    clean = _validate(
        order.product,
        order.quantity,
        order.amount,
        order.currency,
        order.purchased_at,
        UTC,
        now,
        own,
    )
    order_id = normalize_text(order.order_id)
    if not order_id or len(order_id) > 100:
        own["order_id"] = _l("An order id of 1 to 100 characters is required.")
    try:
        status = PurchaseStatus(order.status)
    except ValueError:
        own["status"] = _l("Status must be paid, refunded or cancelled.")
        status = PurchaseStatus.paid
    refunded = Decimal(0)
    if order.refunded_amount is not None:
        refunded = _money(order.refunded_amount, "refunded_amount", own)
        if refunded > clean.amount:
            own["refunded_amount"] = _l("More than the amount paid.")
    elif status == PurchaseStatus.refunded:
        refunded = clean.amount
    if order.customer_id is None and not order.customer_email and not order.customer_external_id:
        own["customer"] = _l("Name the customer by id, email or external id.")
    errors.update({f"{index}.{key}": message for key, message in own.items()})
    return {
        "order_id": order_id,
        "product": clean.product,
        "quantity": clean.quantity,
        "amount": clean.amount,
        "currency": clean.currency,
        "purchased_at": clean.purchased_at,
        "status": status,
        "refunded_amount": refunded,
        "order_ref": None,
        "created_at": now,
        "updated_at": now,
    }


def _resolve_customers(
    session: Session, orders: Sequence[OrderData], rows: list[dict], errors: dict
) -> None:
    """Sets each row's customer_id, looking customers up a batch at a time."""
    from helpdesk.customers.importer import bulk

    ids = {o.customer_id for o in orders if o.customer_id is not None}
    emails = {o.customer_email.strip().lower() for o in orders if o.customer_email}
    external = {o.customer_external_id for o in orders if o.customer_external_id}
    known_ids = {i for (i,) in bulk._rows_by_key(session, Customer.id, ids, [Customer.id])}
    lower_email = func.lower(Customer.email, type_=String())
    by_email = dict(
        bulk._rows_by_key(session, lower_email, emails, [lower_email.label("email"), Customer.id])
    )
    by_external = dict(
        bulk._rows_by_key(
            session, Customer.external_id, external, [Customer.external_id, Customer.id]
        )
    )
    for index, (order, row) in enumerate(zip(orders, rows, strict=True)):
        if order.customer_id is not None:
            row["customer_id"] = order.customer_id if order.customer_id in known_ids else None
        elif order.customer_external_id:
            row["customer_id"] = by_external.get(order.customer_external_id)
        else:
            email = order.customer_email.strip().lower()
            if email not in by_email:
                by_email[email] = _new_customer(session, order, index, errors)
            row["customer_id"] = by_email[email]
        if row["customer_id"] is None and f"{index}.customer" not in errors:
            errors[f"{index}.customer"] = _l("There is no such customer.")


def _new_customer(session: Session, order: OrderData, index: int, errors: dict) -> int | None:
    data = CustomerData(email=order.customer_email or "", name=order.customer_name)
    try:
        return create_customer(session, data).id
    except CustomerInvalid as exc:
        for key, message in exc.errors.items():
            errors[f"{index}.customer_{key}"] = message
        return None


def _stored(session: Session, source: str, order_ids: list[str]) -> dict[str, dict]:
    from helpdesk.customers.importer import bulk

    columns = [getattr(Purchase, name) for name in ("id", "order_id", *_UPDATABLE)]
    rows = bulk._rows_by_key(
        session, Purchase.order_id, order_ids, columns, Purchase.source == source
    )
    return {row.order_id: row._asdict() for row in rows}
