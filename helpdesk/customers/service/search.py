"""The customer list: search, filters by tag, subscription status and custom field, and
sorting (by total spend too); one statement serves the list page and the CSV export."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from helpdesk.customers.models import (
    Customer,
    CustomFieldValue,
    FieldType,
    Purchase,
    SubscriptionStatus,
    Tag,
    counted_amount,
    customer_tags,
)
from helpdesk.customers.service.custom_fields import get_custom_field_by_key
from helpdesk.customers.service.errors import FilterInvalid
from helpdesk.customers.service.field_values import (
    _VALUE_COLUMN,
    FieldValueError,
    parse_field_value,
)
from helpdesk.normalize import normalize_tags, normalize_text
from helpdesk.text import lazy_text as _l

SORTS = ("name", "-name", "email", "-email", "created", "-created", "spend", "-spend")


@dataclass(frozen=True)
class CustomerFilter:
    text: str = ""
    tag: str = ""
    status: str = ""
    field_key: str = ""
    field_value: str = ""
    sort: str = "name"
    # Exact address (any case) and "changed since": the API's filters.
    email: str = ""
    updated_since: datetime | None = None


def _sortable(session: Session, column) -> ColumnElement:
    """Code point order of the lower-cased text on every database.

    Hangul syllables are encoded in dictionary order (가 < 나 < 다), so code point order
    sorts Korean names correctly; a PostgreSQL database created with some other locale
    would otherwise order them by that locale's rules and differ from SQLite.
    """
    lowered = func.lower(column)
    if session.get_bind().dialect.name == "postgresql":
        return lowered.collate("C")
    return lowered


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def customer_statement(
    session: Session, flt: CustomerFilter, *, after_id: int = 0
) -> Select[tuple[Customer]]:
    """The filtered, sorted customer query shared by the list page and the CSV export;
    `after_id`: only customers with a higher id (a cursor page)."""
    query = select(Customer)
    if after_id:
        query = query.where(Customer.id > after_id)
    for term in normalize_text(flt.text).split():
        pattern = _like_pattern(term)
        query = query.where(
            or_(
                *(
                    column.ilike(pattern, escape="\\")
                    for column in (
                        Customer.name,
                        Customer.given_name,
                        Customer.family_name,
                        Customer.email,
                        Customer.company,
                        Customer.phone,
                    )
                )
            )
        )
    tags = normalize_tags(flt.tag)
    if tags:
        tagged = (
            select(customer_tags.c.customer_id)
            .join(Tag, Tag.id == customer_tags.c.tag_id)
            .where(customer_tags.c.customer_id == Customer.id, Tag.name == tags[0])
        )
        if after_id:
            # Said again for the tag rows: PostgreSQL does not carry a range over a join,
            # and would merge the tag's rows from the first customer on, on every page.
            tagged = tagged.where(customer_tags.c.customer_id > after_id)
        query = query.where(exists(tagged))
    if flt.status:
        try:
            query = query.where(Customer.subscription_status == SubscriptionStatus(flt.status))
        except ValueError:
            raise FilterInvalid({"status": _l("Unknown subscription status.")}) from None
    if flt.field_key and flt.field_value.strip():
        query = query.where(_field_equals(session, flt.field_key, flt.field_value))
    if flt.email.strip():
        query = query.where(func.lower(Customer.email) == flt.email.strip().lower())
    if flt.updated_since is not None:
        query = query.where(Customer.updated_at >= flt.updated_since)
    if flt.sort in ("spend", "-spend"):
        return _order_by_spend(session, query, descending=flt.sort == "-spend")
    column, descending = _SORT_COLUMNS.get(flt.sort, _SORT_COLUMNS["name"])
    key = column if column is Customer.created_at else _sortable(session, column)
    return query.order_by(key.desc() if descending else key, Customer.id)


def spend_sorts_by_count(session: Session) -> bool:
    """Whether "sort by total spend" has to count purchases instead of adding amounts.

    Amounts in different currencies cannot be added without exchange rates the helpdesk
    does not have, and sorting by one currency's total would rank a big spender in
    another currency last. So while every purchase is in one currency (most shops) the
    sort adds amounts; once there are several it ranks by the number of purchases, which
    means the same in every currency, and the page says so.
    """
    currencies = select(Purchase.currency).distinct().limit(2).subquery()
    return (session.scalar(select(func.count()).select_from(currencies)) or 0) > 1


def _order_by_spend(session: Session, query: Select, *, descending: bool) -> Select:
    measure = func.count() if spend_sorts_by_count(session) else func.sum(counted_amount())
    totals = (
        select(Purchase.customer_id, measure.label("spend"))
        .group_by(Purchase.customer_id)
        .subquery()
    )
    spend = func.coalesce(totals.c.spend, 0)
    return query.outerjoin(totals, totals.c.customer_id == Customer.id).order_by(
        spend.desc() if descending else spend, Customer.id
    )


_SORT_COLUMNS = {
    "name": (Customer.name, False),
    "-name": (Customer.name, True),
    "email": (Customer.email, False),
    "-email": (Customer.email, True),
    "created": (Customer.created_at, False),
    "-created": (Customer.created_at, True),
}


def _field_equals(session: Session, key: str, raw: str) -> ColumnElement[bool]:
    custom_field = get_custom_field_by_key(session, key)
    if custom_field is None:
        raise FilterInvalid({"field_key": _l("There is no custom field %(key)s.", key=key)})
    try:
        value = parse_field_value(custom_field, raw)
    except FieldValueError as exc:
        raise FilterInvalid({"field_value": exc.message}) from None
    column = getattr(CustomFieldValue, _VALUE_COLUMN[custom_field.field_type])
    condition = (
        func.lower(column) == value.lower()
        if custom_field.field_type == FieldType.text
        else column == value
    )
    return exists(
        select(CustomFieldValue.customer_id).where(
            and_(
                CustomFieldValue.customer_id == Customer.id,
                CustomFieldValue.field_id == custom_field.id,
                condition,
            )
        )
    )


def search_customers(
    session: Session, flt: CustomerFilter, *, offset: int = 0, limit: int = 25
) -> tuple[list[Customer], int]:
    """One page of matching customers (tags loaded) and the number of all matches."""
    query = customer_statement(session, flt)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    customers = session.scalars(
        query.options(selectinload(Customer.tags)).offset(offset).limit(limit)
    ).all()
    return list(customers), total or 0


def customers_after(
    session: Session, flt: CustomerFilter, after_id: int, limit: int
) -> list[Customer]:
    """Up to `limit` matches with an id above `after_id`, in id order (tags and field values
    loaded): pages by cursor that stay stable while customers are added."""
    query = (
        customer_statement(session, flt, after_id=after_id)
        .order_by(None)
        .order_by(Customer.id)
        .limit(limit)
        .options(
            selectinload(Customer.tags),
            selectinload(Customer.field_values).selectinload(CustomFieldValue.field),
        )
    )
    return list(session.scalars(query))


def matching_ids(session: Session, flt: CustomerFilter) -> list[int]:
    """Ids of every match in list order; cheap to hold even for a large customer base."""
    query = customer_statement(session, flt).with_only_columns(Customer.id)
    return list(session.scalars(query))


def customers_by_ids(session: Session, ids: Sequence[int]) -> list[Customer]:
    """Those customers with tags and field values loaded, in the order of ``ids``."""
    found = {
        c.id: c
        for c in session.scalars(
            select(Customer)
            .where(Customer.id.in_(ids))
            .options(
                selectinload(Customer.tags),
                selectinload(Customer.field_values).selectinload(CustomFieldValue.field),
            )
        )
    }
    return [found[i] for i in ids if i in found]


def all_tags(session: Session) -> list[str]:
    return list(session.scalars(select(Tag.name).order_by(Tag.name)))


def count_customers(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Customer)) or 0
