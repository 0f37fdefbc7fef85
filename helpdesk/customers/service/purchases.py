"""Purchases: recorded with their amount and currency, listed, and summed per currency into
a customer's lifetime value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from babel.numbers import list_currencies
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from helpdesk.customers.models import Customer, Purchase, counted_amount
from helpdesk.customers.service.errors import PurchaseInvalid
from helpdesk.customers.service.field_values import parse_decimal
from helpdesk.db import utcnow
from helpdesk.events.service import Subject, record_event
from helpdesk.normalize import normalize_text
from helpdesk.text import LazyText
from helpdesk.text import lazy_text as _l

_CURRENCIES = frozenset(list_currencies())
# Numeric(12, 2) for purchase amounts.
_AMOUNT_LIMIT = Decimal(10) ** 10


@dataclass(frozen=True)
class Money:
    currency: str
    amount: Decimal


def _to_utc(value: date | datetime | str, tz: tzinfo, *, with_time: bool) -> datetime:
    if isinstance(value, str):
        text = value.strip()
        value = datetime.fromisoformat(text) if with_time else date.fromisoformat(text)
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


@dataclass(frozen=True)
class _CleanPurchase:
    product: str
    quantity: int
    amount: Decimal
    currency: str
    purchased_at: datetime


def _validate(
    product: str,
    quantity: int | str,
    amount: Decimal | str,
    currency: str,
    purchased_at: date | datetime | str,
    tz: tzinfo,
    now: datetime,
    errors: dict[str, LazyText],
) -> _CleanPurchase:
    """The rules every purchase follows, from a form, a CSV line or the API; refusals go
    into `errors` by field."""
    product = normalize_text(product)
    if not product:
        errors["product"] = _l("A product is required.")
    elif len(product) > 200:
        errors["product"] = _l("At most 200 characters.")
    try:
        qty = int(str(quantity).strip())
        if not 1 <= qty <= 1_000_000:
            raise ValueError
    except ValueError:
        errors["quantity"] = _l("Quantity must be a whole number from 1 to 1,000,000.")
        qty = 0
    money = _money(amount, "amount", errors)
    code = (currency or "").strip().upper()
    if code not in _CURRENCIES:
        errors["currency"] = _l(
            "Currency must be a three-letter ISO 4217 code such as KRW, USD or EUR."
        )
    try:
        when = _to_utc(purchased_at, tz, with_time=False)
        if when > now + timedelta(days=1):
            errors["purchased_at"] = _l("The purchase date is in the future.")
    except (ValueError, TypeError, OverflowError):
        errors["purchased_at"] = _l("Enter the purchase date as YYYY-MM-DD.")
        when = now
    return _CleanPurchase(product, qty, money, code, when)


def _money(amount: Decimal | str, key: str, errors: dict[str, LazyText]) -> Decimal:
    try:
        money = amount if isinstance(amount, Decimal) else parse_decimal(str(amount))
        if money < 0 or money >= _AMOUNT_LIMIT or money.as_tuple().exponent < -2:
            raise ValueError
    except ValueError:
        errors[key] = _l(
            "Amount must be a number of 0 or more with at most 2 decimal places, like 19.90."
        )
        return Decimal(0)
    return money


def add_purchase(
    session: Session,
    customer: Customer,
    *,
    product: str,
    quantity: int | str,
    amount: Decimal | str,
    currency: str,
    purchased_at: date | datetime | str,
    order_ref: str | None = None,
    tz: tzinfo = UTC,
    now: datetime | None = None,
) -> Purchase:
    """Amount is what the customer paid for the line (not a unit price); dates without a
    time mean midnight in ``tz``, the zone of whoever entered them."""
    now = now or utcnow()
    errors: dict[str, LazyText] = {}
    clean = _validate(product, quantity, amount, currency, purchased_at, tz, now, errors)
    ref = normalize_text(order_ref) or None
    if ref is not None and len(ref) > 100:
        errors["order_ref"] = _l("At most 100 characters.")
    if errors:
        raise PurchaseInvalid(errors)
    purchase = Purchase(
        customer_id=customer.id,
        order_ref=ref,
        product=clean.product,
        quantity=clean.quantity,
        amount=clean.amount,
        currency=clean.currency,
        purchased_at=clean.purchased_at,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(purchase)
    except IntegrityError:
        raise PurchaseInvalid(
            {
                "order_ref": _l(
                    "This order already has a line for %(product)s.", product=clean.product
                )
            }
        ) from None
    record_event(
        session,
        "purchase.created",
        Subject("customer", customer.id),
        {
            "purchase_id": purchase.id,
            "customer_id": customer.id,
            "order_ref": ref,
            "product": clean.product,
            "quantity": clean.quantity,
            "amount": str(clean.amount),
            "currency": clean.currency,
            "purchased_at": clean.purchased_at.isoformat(),
        },
        now=now,
    )
    return purchase


def purchases_of(session: Session, customer_id: int) -> list[Purchase]:
    return list(
        session.scalars(
            select(Purchase)
            .where(Purchase.customer_id == customer_id)
            .order_by(Purchase.purchased_at.desc(), Purchase.id.desc())
        )
    )


def purchases_after(
    session: Session,
    after_id: int,
    limit: int,
    *,
    customer_id: int | None = None,
    source: str | None = None,
    order_id: str | None = None,
) -> list[Purchase]:
    """Up to `limit` purchases with an id above `after_id`, in id order: cursor pages."""
    query = select(Purchase).where(Purchase.id > after_id)
    if customer_id is not None:
        query = query.where(Purchase.customer_id == customer_id)
    if source is not None:
        query = query.where(Purchase.source == source)
    if order_id is not None:
        query = query.where(Purchase.order_id == order_id)
    return list(session.scalars(query.order_by(Purchase.id).limit(limit)))


def lifetime_values(session: Session, customer_ids: Sequence[int]) -> dict[int, list[Money]]:
    """Sum of purchase amounts per currency; currencies are never converted into each other."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(Purchase.customer_id, Purchase.currency, func.sum(counted_amount()))
        .where(Purchase.customer_id.in_(customer_ids))
        .group_by(Purchase.customer_id, Purchase.currency)
        .order_by(Purchase.customer_id, Purchase.currency)
    )
    result: dict[int, list[Money]] = {}
    for customer_id, currency, total in rows:
        # SQLite does the arithmetic of counted_amount in floating point: back to cents.
        amount = Decimal(str(total)).quantize(Decimal("0.01"))
        result.setdefault(customer_id, []).append(Money(currency, amount))
    return result


def lifetime_value(session: Session, customer_id: int) -> list[Money]:
    return lifetime_values(session, [customer_id]).get(customer_id, [])
