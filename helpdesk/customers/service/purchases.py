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

from helpdesk.customers.models import Customer, Purchase
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
    try:
        money = amount if isinstance(amount, Decimal) else parse_decimal(str(amount))
        if money < 0 or money >= _AMOUNT_LIMIT or money.as_tuple().exponent < -2:
            raise ValueError
    except ValueError:
        errors["amount"] = _l(
            "Amount must be a number of 0 or more with at most 2 decimal places, like 19.90."
        )
        money = Decimal(0)
    code = (currency or "").strip().upper()
    if code not in _CURRENCIES:
        errors["currency"] = _l(
            "Currency must be a three-letter ISO 4217 code such as KRW, USD or EUR."
        )
    try:
        when = _to_utc(purchased_at, tz, with_time=False)
        if when > now + timedelta(days=1):
            errors["purchased_at"] = _l("The purchase date is in the future.")
    except (ValueError, TypeError):
        errors["purchased_at"] = _l("Enter the purchase date as YYYY-MM-DD.")
        when = now
    ref = normalize_text(order_ref) or None
    if ref is not None and len(ref) > 100:
        errors["order_ref"] = _l("At most 100 characters.")
    if errors:
        raise PurchaseInvalid(errors)
    purchase = Purchase(
        customer_id=customer.id,
        order_ref=ref,
        product=product,
        quantity=qty,
        amount=money,
        currency=code,
        purchased_at=when,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(purchase)
    except IntegrityError:
        raise PurchaseInvalid(
            {"order_ref": _l("This order already has a line for %(product)s.", product=product)}
        ) from None
    record_event(
        session,
        "purchase.created",
        Subject("customer", customer.id),
        {
            "purchase_id": purchase.id,
            "customer_id": customer.id,
            "order_ref": ref,
            "product": product,
            "quantity": qty,
            "amount": str(money),
            "currency": code,
            "purchased_at": when.isoformat(),
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


def lifetime_values(session: Session, customer_ids: Sequence[int]) -> dict[int, list[Money]]:
    """Sum of purchase amounts per currency; currencies are never converted into each other."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(Purchase.customer_id, Purchase.currency, func.sum(Purchase.amount))
        .where(Purchase.customer_id.in_(customer_ids))
        .group_by(Purchase.customer_id, Purchase.currency)
        .order_by(Purchase.customer_id, Purchase.currency)
    )
    result: dict[int, list[Money]] = {}
    for customer_id, currency, total in rows:
        result.setdefault(customer_id, []).append(Money(currency, Decimal(total)))
    return result


def lifetime_value(session: Session, customer_id: int) -> list[Money]:
    return lifetime_values(session, [customer_id]).get(customer_id, [])
