"""Purchases files: each row validated against the customers it names and the purchases
already stored, then written; an order reference makes a re-import an update."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import list_currencies
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.customers.importer.bulk import LOOKUP_CHUNK, _customer_ids, _one_of, _upsert
from helpdesk.customers.importer.files import read_csv
from helpdesk.customers.importer.headers import PURCHASE_COLUMNS, PURCHASE_REQUIRED, _check_columns
from helpdesk.customers.importer.plan import (
    MAX_LENGTHS,
    ImportPlan,
    PurchaseRow,
    RowError,
    _detail,
    _row_cells,
)
from helpdesk.customers.models import ImportKind, Purchase
from helpdesk.customers.service import parse_decimal
from helpdesk.db import chunks, utcnow
from helpdesk.events.service import Subject, record_events
from helpdesk.normalize import EmailNormalizer, InvalidEmail, normalize_text

# Numeric(12, 2) for amounts.
MAX_AMOUNT = Decimal("1e10")
MAX_QUANTITY = 2**31 - 1
CURRENCIES = frozenset(list_currencies())


def plan_purchases(session: Session, content: bytes, timezone: str = "UTC") -> ImportPlan:
    csv_file = read_csv(content)
    _check_columns(csv_file, PURCHASE_COLUMNS, PURCHASE_REQUIRED)
    zone = _zone(timezone)
    errors: list[RowError] = []
    parsed: list[tuple[int, int, str, dict[str, Any]]] = []
    normalize = EmailNormalizer()
    for position, line, cells in _row_cells(csv_file, errors):
        row_errors: list[RowError] = []
        email = ""
        if not cells["email"]:
            row_errors.append(RowError(line, "email", "required"))
        else:
            try:
                email = normalize(cells["email"])
            except InvalidEmail as exc:
                row_errors.append(
                    RowError(
                        line,
                        "email",
                        "invalid_email",
                        {"value": cells["email"], "detail": _detail(exc)},
                    )
                )
        values = {
            "product": _required_text(cells, "product", line, row_errors),
            "order_ref": _required_text(cells, "order_ref", line, row_errors, required=False)
            or None,
            "quantity": _quantity(cells.get("quantity", ""), line, row_errors),
            "amount": _amount(cells["amount"], line, row_errors),
            "currency": _currency(cells["currency"], line, row_errors),
            "purchased_at": _purchased_at(cells["date"], zone, line, row_errors),
        }
        if row_errors:
            errors.extend(row_errors)
            continue
        parsed.append((position, line, email, values))

    customer_ids = _customer_ids(session, [email for _, _, email, _ in parsed])
    stored = _existing_purchases(session, set(customer_ids.values()))
    first_line: dict[tuple[int, str, str], int] = {}
    rows: list[PurchaseRow] = []
    for position, line, email, values in parsed:
        customer_id = customer_ids.get(email.lower())
        if customer_id is None:
            errors.append(RowError(line, "email", "unknown_customer", {"value": email}))
            continue
        key = (customer_id, values["order_ref"], values["product"])
        if values["order_ref"] is not None:
            if key in first_line:
                errors.append(
                    RowError(
                        line, "order_ref", "duplicate_purchase", {"first_line": first_line[key]}
                    )
                )
                continue
            first_line[key] = line
        rows.append(
            PurchaseRow(
                position=position,
                line=line,
                email=email,
                customer_id=customer_id,
                existing=key in stored,
                **values,
            )
        )
    return ImportPlan.of_file(ImportKind.purchases, csv_file, rows, errors)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _required_text(
    cells: dict[str, str], column: str, line: int, errors: list[RowError], required: bool = True
) -> str:
    value = normalize_text(cells.get(column, ""))
    if required and not value:
        errors.append(RowError(line, column, "required"))
    elif len(value) > MAX_LENGTHS[column]:
        errors.append(RowError(line, column, "too_long", {"max": MAX_LENGTHS[column]}))
    return value


def _quantity(raw: str, line: int, errors: list[RowError]) -> int:
    if not raw:
        return 1
    try:
        quantity = int(raw.replace(",", ""))
    except ValueError:
        quantity = 0
    if not 1 <= quantity <= MAX_QUANTITY:
        errors.append(RowError(line, "quantity", "invalid_quantity", {"value": raw}))
    return quantity


def _amount(raw: str, line: int, errors: list[RowError]) -> Decimal:
    if not raw:
        errors.append(RowError(line, "amount", "required"))
        return Decimal(0)
    try:
        amount = parse_decimal(raw)
    except ValueError:
        amount = Decimal(-1)
    if not 0 <= amount < MAX_AMOUNT or -amount.as_tuple().exponent > 2:
        errors.append(RowError(line, "amount", "invalid_amount", {"value": raw}))
    return amount


def _currency(raw: str, line: int, errors: list[RowError]) -> str:
    if not raw:
        errors.append(RowError(line, "currency", "required"))
    elif raw.upper() not in CURRENCIES:
        errors.append(RowError(line, "currency", "invalid_currency", {"value": raw}))
    return raw.upper()


def _purchased_at(raw: str, zone: ZoneInfo, line: int, errors: list[RowError]) -> datetime:
    if not raw:
        errors.append(RowError(line, "date", "required"))
        return utcnow()
    try:
        if len(raw) == 10:
            value = datetime.combine(date.fromisoformat(raw), time())
        else:
            value = datetime.fromisoformat(raw)
    except ValueError:
        errors.append(RowError(line, "date", "invalid_datetime", {"value": raw}))
        return utcnow()
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _existing_purchases(session: Session, customer_ids: set[int]) -> set[tuple[int, str, str]]:
    stored: set[tuple[int, str, str]] = set()
    for chunk in chunks(sorted(customer_ids), LOOKUP_CHUNK):
        query = select(Purchase.customer_id, Purchase.order_ref, Purchase.product).where(
            _one_of(session, Purchase.customer_id, chunk), Purchase.order_ref.is_not(None)
        )
        stored.update(tuple(record) for record in session.execute(query))
    return stored


PURCHASE_WRITE_COLUMNS = (
    "customer_id",
    "order_ref",
    "product",
    "quantity",
    "amount",
    "currency",
    "purchased_at",
    "created_at",
)


def _apply_purchases(session: Session, rows: Sequence[PurchaseRow]) -> tuple[int, int]:
    now = utcnow()
    # Without an order reference a purchase cannot be recognized again, so such rows
    # are always new; with one, the unique constraint turns a re-import into an update.
    _upsert(
        session,
        Purchase.__table__,
        PURCHASE_WRITE_COLUMNS,
        [
            (
                row.customer_id,
                row.order_ref,
                row.product,
                row.quantity,
                row.amount,
                row.currency,
                row.purchased_at,
                now,
            )
            for row in rows
        ],
        conflict=["customer_id", "order_ref", "product"],
        update=("quantity", "amount", "currency", "purchased_at"),
    )
    record_events(
        session,
        "purchase.created",
        [
            (
                Subject("customer", row.customer_id),
                {
                    "customer_id": row.customer_id,
                    "order_ref": row.order_ref,
                    "product": row.product,
                    "quantity": row.quantity,
                    "amount": str(row.amount),
                    "currency": row.currency,
                    "purchased_at": row.purchased_at.isoformat(),
                    "source": "import",
                },
            )
            for row in rows
            if not row.existing
        ],
        now=now,
    )
    updated = sum(1 for row in rows if row.existing)
    return len(rows) - updated, updated
