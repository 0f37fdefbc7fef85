"""Segment rules: validate the JSON rule tree and compile it to one SQL query of customer ids.

Rules look like::

    {"match": "all" | "any",
     "groups": [{"match": "all" | "any",
                 "conditions": [{"field": "custom.plan", "op": "eq", "value": "pro"}, ...]}]}

The top `match` joins the groups, each group's `match` joins its conditions. A rule tree
without groups matches every customer. Every condition becomes an EXISTS / NOT EXISTS
subquery or a column comparison, so the database does all the work in one statement.

Whatever the rules say, a customer never matches when the address is on the suppression
list or the customer unsubscribed. A segment that is mailed (`sendable=True`, the default
and what the segment page counts) also requires `subscription_status = subscribed`: only
customers who gave consent receive campaigns.

Dates in rules are calendar days in UTC ("2024-03-01"); "within N days" counts back from
`now`. A customer's total spend is the plain sum of purchase amounts (currencies are not
converted); customers without purchases have a total of 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select, true
from sqlalchemy.orm import Session

from helpdesk.campaigns.models import Delivery, Suppression
from helpdesk.customers.models import (
    Customer,
    CustomField,
    CustomFieldValue,
    FieldType,
    Purchase,
    SubscriptionStatus,
    Tag,
    counted_amount,
    customer_tags,
)
from helpdesk.db import utcnow
from helpdesk.tickets.models import OPEN_STATUSES, Ticket

MAX_GROUPS = 20
MAX_CONDITIONS = 50
MAX_DAYS = 36_500


class SegmentError(ValueError):
    """The rules cannot be used; the message says which condition and why."""


@dataclass(frozen=True)
class FieldInfo:
    """What compile needs to know about a custom field."""

    id: int
    field_type: FieldType
    choices: tuple[str, ...] = ()


# Ops per built-in field; custom fields take theirs from CUSTOM_OPS by type.
TEXT_OPS = ("eq", "neq", "contains", "not_contains", "is_empty", "is_not_empty")
DATE_OPS = ("before", "after", "within_days")
FIELD_OPS: dict[str, tuple[str, ...]] = {
    "email": ("eq", "neq", "contains", "not_contains", "ends_with"),
    "name": TEXT_OPS,
    "given_name": TEXT_OPS,
    "family_name": TEXT_OPS,
    "company": TEXT_OPS,
    "created_at": DATE_OPS,
    "subscription_status": ("eq", "neq"),
    "tag": ("has", "has_not"),
    "purchase.product": ("bought", "not_bought"),
    "purchase.total": ("gt", "gte", "lt", "lte"),
    "purchase.last": ("before", "after", "within_days", "never"),
    "engagement.opened": ("within_days", "never"),
    "engagement.clicked": ("within_days", "never"),
    "ticket.open": ("has", "has_not"),
    "ticket.contacted": ("within_days",),
}
CUSTOM_OPS: dict[FieldType, tuple[str, ...]] = {
    FieldType.text: ("eq", "neq", "contains", "not_contains", "is_set", "is_not_set"),
    FieldType.number: ("eq", "neq", "gt", "gte", "lt", "lte", "is_set", "is_not_set"),
    FieldType.date: ("eq", "before", "after", "within_days", "is_set", "is_not_set"),
    FieldType.boolean: ("is_true", "is_false", "is_set", "is_not_set"),
    FieldType.choice: ("eq", "neq", "in", "not_in", "is_set", "is_not_set"),
}


def load_custom_fields(session: Session) -> dict[str, FieldInfo]:
    rows = session.execute(
        select(CustomField.key, CustomField.id, CustomField.field_type, CustomField.choices)
    )
    return {
        key: FieldInfo(field_id, FieldType(field_type), tuple(choices or ()))
        for key, field_id, field_type, choices in rows
    }


def segment_customer_ids_query(
    session: Session,
    rules: Mapping,
    *,
    sendable: bool = True,
    now: datetime | None = None,
) -> Select:
    """`SELECT customers.id ...` for the rules; raises SegmentError for bad rules.

    Loads the custom field definitions through the session (their types decide how
    values compare) and compiles with `compile_segment`.
    """
    return compile_segment(rules, load_custom_fields(session), sendable=sendable, now=now)


def compile_segment(
    rules: Mapping,
    custom_fields: Mapping[str, FieldInfo] | None = None,
    *,
    sendable: bool = True,
    now: datetime | None = None,
) -> Select:
    """One select of matching customer ids (no per-customer Python loop).

    `custom_fields` maps field key to FieldInfo (see `load_custom_fields`); rules that
    name a custom field not in it raise SegmentError.
    """
    where = rules_clause(rules, custom_fields or {}, now=now or utcnow())
    return select(Customer.id).where(where, *eligibility_clauses(sendable=sendable))


def eligibility_clauses(*, sendable: bool = True) -> list[ColumnElement[bool]]:
    """Suppressed and unsubscribed customers never match; mailed segments need consent."""
    clauses = [
        ~exists().where(Suppression.email == func.lower(Customer.email)),
        Customer.subscription_status != SubscriptionStatus.unsubscribed,
    ]
    if sendable:
        clauses.append(Customer.subscription_status == SubscriptionStatus.subscribed)
    return clauses


def validate_rules(session: Session, rules: Mapping) -> None:
    """Raise SegmentError when the rules cannot be compiled."""
    rules_clause(rules, load_custom_fields(session), now=utcnow())


def count_and_sample(
    session: Session, rules: Mapping, *, sample_size: int = 10, now: datetime | None = None
) -> tuple[int, list[Customer]]:
    ids = segment_customer_ids_query(session, rules, now=now).subquery()
    total = session.scalar(select(func.count()).select_from(ids)) or 0
    sample = list(
        session.scalars(
            select(Customer)
            .where(Customer.id.in_(select(ids.c.id)))
            .order_by(Customer.id)
            .limit(sample_size)
        )
    )
    return total, sample


def member_count(session: Session, rules: Mapping, *, now: datetime | None = None) -> int:
    """How many customers a campaign to the segment would mail now."""
    ids = segment_customer_ids_query(session, rules, now=now).subquery()
    return session.scalar(select(func.count()).select_from(ids)) or 0


def members_after(
    session: Session, rules: Mapping, after_id: int, limit: int, *, now: datetime | None = None
) -> list[Customer]:
    """The segment's customers (those a campaign would mail) in id order after `after_id`."""
    ids = segment_customer_ids_query(session, rules, now=now)
    return list(
        session.scalars(
            select(Customer)
            .where(Customer.id.in_(ids), Customer.id > after_id)
            .order_by(Customer.id)
            .limit(limit)
        )
    )


# --- compilation ----------------------------------------------------------------------


def _match(value, where: str) -> str:
    if value not in ("all", "any"):
        raise SegmentError(f'{where}: "match" must be "all" or "any"')
    return value


def _join(match: str, clauses: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    return and_(*clauses) if match == "all" else or_(*clauses)


def rules_clause(
    rules: Mapping, custom_fields: Mapping[str, FieldInfo], *, now: datetime
) -> ColumnElement[bool]:
    if not isinstance(rules, Mapping):
        raise SegmentError("Rules must be an object with 'match' and 'groups'.")
    match = _match(rules.get("match", "all"), "Rules")
    groups = rules.get("groups", [])
    if not isinstance(groups, list):
        raise SegmentError('"groups" must be a list.')
    if len(groups) > MAX_GROUPS:
        raise SegmentError(f"At most {MAX_GROUPS} groups.")
    if not groups:
        return true()
    clauses = []
    for g_index, group in enumerate(groups, start=1):
        where = f"Group {g_index}"
        if not isinstance(group, Mapping):
            raise SegmentError(f"{where}: must be an object with 'match' and 'conditions'.")
        group_match = _match(group.get("match", "all"), where)
        conditions = group.get("conditions")
        if not isinstance(conditions, list) or not conditions:
            raise SegmentError(f"{where} is empty: add a condition or remove the group.")
        if len(conditions) > MAX_CONDITIONS:
            raise SegmentError(f"{where}: at most {MAX_CONDITIONS} conditions.")
        clauses.append(
            _join(
                group_match,
                [
                    _condition(cond, custom_fields, now, f"{where}, condition {c_index}")
                    for c_index, cond in enumerate(conditions, start=1)
                ],
            )
        )
    return _join(match, clauses)


def _condition(
    cond, custom_fields: Mapping[str, FieldInfo], now: datetime, where: str
) -> ColumnElement[bool]:
    if not isinstance(cond, Mapping):
        raise SegmentError(f"{where}: must be an object with field, op and value.")
    field = cond.get("field")
    op = cond.get("op")
    value = cond.get("value")
    if not isinstance(field, str) or not field:
        raise SegmentError(f"{where}: choose a field.")
    if field.startswith("custom."):
        key = field.removeprefix("custom.")
        info = custom_fields.get(key)
        if info is None:
            raise SegmentError(f'{where}: unknown custom field "{key}".')
        allowed = CUSTOM_OPS[info.field_type]
    elif field in FIELD_OPS:
        info = None
        allowed = FIELD_OPS[field]
    else:
        raise SegmentError(f'{where}: unknown field "{field}".')
    if op not in allowed:
        raise SegmentError(
            f'{where}: "{op}" does not apply to {field}; use one of {", ".join(allowed)}.'
        )
    if info is not None:
        return _custom(info, op, value, now, where)
    return _BUILTIN[field](op, value, now, where)


# --- values ---------------------------------------------------------------------------


def _text(value, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise SegmentError(f"{where}: enter a text value.")
    text = str(value).strip()
    if not text:
        raise SegmentError(f"{where}: enter a value.")
    return text


def _number(value, where: str) -> Decimal:
    if isinstance(value, bool):
        raise SegmentError(f"{where}: enter a number.")
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise SegmentError(f'{where}: "{value}" is not a number.') from None
    if not number.is_finite() or abs(number) >= Decimal(10) ** 14:
        raise SegmentError(f'{where}: "{value}" is not a usable number.')
    return number


def _date(value, where: str) -> date:
    if not isinstance(value, str):
        raise SegmentError(f"{where}: enter a date as YYYY-MM-DD.")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise SegmentError(f'{where}: "{value}" is not a date (use YYYY-MM-DD).') from None


def _days(value, where: str) -> int:
    if isinstance(value, bool):
        raise SegmentError(f"{where}: enter a number of days.")
    try:
        days = int(str(value).strip())
    except ValueError:
        raise SegmentError(f'{where}: "{value}" is not a whole number of days.') from None
    if not 0 < days <= MAX_DAYS:
        raise SegmentError(f"{where}: the number of days must be between 1 and {MAX_DAYS}.")
    return days


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _like(value: str) -> str:
    return value.lower()


def _compare_time(column, op: str, value, now: datetime, where: str) -> ColumnElement[bool]:
    if op == "within_days":
        return column >= now - timedelta(days=_days(value, where))
    day = _date(value, where)
    if op == "before":
        return column < _day_start(day)
    return column >= _day_start(day + timedelta(days=1))


# --- built-in fields ------------------------------------------------------------------


def _text_column(column):
    def compile_(op: str, value, now: datetime, where: str) -> ColumnElement[bool]:
        if op == "is_empty":
            return func.coalesce(column, "") == ""
        if op == "is_not_empty":
            return func.coalesce(column, "") != ""
        text = _text(value, where).lower()
        lowered = func.lower(column)
        match op:
            case "eq":
                return lowered == text
            case "neq":
                return lowered != text
            case "contains":
                return lowered.contains(text, autoescape=True)
            case "not_contains":
                return ~lowered.contains(text, autoescape=True)
            case _:  # ends_with
                return lowered.endswith(text, autoescape=True)

    return compile_


def _created_at(op: str, value, now: datetime, where: str) -> ColumnElement[bool]:
    return _compare_time(Customer.created_at, op, value, now, where)


def _subscription(op: str, value, now: datetime, where: str) -> ColumnElement[bool]:
    try:
        status = SubscriptionStatus(value)
    except ValueError:
        choices = ", ".join(s.value for s in SubscriptionStatus)
        raise SegmentError(f'{where}: "{value}" is not a status; use one of {choices}.') from None
    column = Customer.subscription_status
    return column == status if op == "eq" else column != status


def _tag(op: str, value, now: datetime, where: str) -> ColumnElement[bool]:
    name = _text(value, where)
    has = exists().where(
        customer_tags.c.customer_id == Customer.id,
        customer_tags.c.tag_id == Tag.id,
        func.lower(Tag.name) == name.lower(),
    )
    return has if op == "has" else ~has


def _product(op: str, value, now: datetime, where: str) -> ColumnElement[bool]:
    bought = exists().where(
        Purchase.customer_id == Customer.id, Purchase.product == _text(value, where)
    )
    return bought if op == "bought" else ~bought


def _total(op: str, value, now: datetime, where: str) -> ColumnElement[bool]:
    amount = _number(value, where)
    # A correlated sum: the database evaluates it last, only for customers the cheaper
    # conditions left, instead of aggregating every purchase of every customer first.
    # Customers without purchases have a total of 0.
    total = func.coalesce(
        select(func.sum(counted_amount()))
        .where(Purchase.customer_id == Customer.id)
        .correlate(Customer)
        .scalar_subquery(),
        0,
    )
    return {"gt": total > amount, "gte": total >= amount, "lt": total < amount}.get(
        op, total <= amount
    )


def _last_purchase(op: str, value, now: datetime, where: str) -> ColumnElement[bool]:
    if op == "never":
        return ~exists().where(Purchase.customer_id == Customer.id)
    if op == "before":
        # The last purchase is before the day: purchases exist, none on or after it.
        day = _day_start(_date(value, where))
        return and_(
            exists().where(Purchase.customer_id == Customer.id),
            ~exists().where(Purchase.customer_id == Customer.id, Purchase.purchased_at >= day),
        )
    return exists().where(
        Purchase.customer_id == Customer.id,
        _compare_time(Purchase.purchased_at, op, value, now, where),
    )


def _engagement(column):
    def compile_(op: str, value, now: datetime, where: str) -> ColumnElement[bool]:
        if op == "never":
            return ~exists().where(Delivery.customer_id == Customer.id, column.is_not(None))
        return exists().where(
            Delivery.customer_id == Customer.id,
            column >= now - timedelta(days=_days(value, where)),
        )

    return compile_


def _open_ticket(op: str, value, now: datetime, where: str) -> ColumnElement[bool]:
    has = exists().where(Ticket.customer_id == Customer.id, Ticket.status.in_(OPEN_STATUSES))
    return has if op == "has" else ~has


def _contacted(op: str, value, now: datetime, where: str) -> ColumnElement[bool]:
    since = now - timedelta(days=_days(value, where))
    return exists().where(
        Ticket.customer_id == Customer.id,
        or_(Ticket.last_customer_message_at >= since, Ticket.created_at >= since),
    )


_BUILTIN = {
    "email": _text_column(Customer.email),
    "name": _text_column(Customer.name),
    "given_name": _text_column(Customer.given_name),
    "family_name": _text_column(Customer.family_name),
    "company": _text_column(Customer.company),
    "created_at": _created_at,
    "subscription_status": _subscription,
    "tag": _tag,
    "purchase.product": _product,
    "purchase.total": _total,
    "purchase.last": _last_purchase,
    "engagement.opened": _engagement(Delivery.first_opened_at),
    "engagement.clicked": _engagement(Delivery.first_clicked_at),
    "ticket.open": _open_ticket,
    "ticket.contacted": _contacted,
}


# --- custom fields --------------------------------------------------------------------


def _custom(info: FieldInfo, op: str, value, now: datetime, where: str) -> ColumnElement[bool]:
    def has(*criteria) -> ColumnElement[bool]:
        return exists().where(
            CustomFieldValue.customer_id == Customer.id,
            CustomFieldValue.field_id == info.id,
            *criteria,
        )

    column = {
        FieldType.text: CustomFieldValue.text_value,
        FieldType.choice: CustomFieldValue.text_value,
        FieldType.number: CustomFieldValue.number_value,
        FieldType.date: CustomFieldValue.date_value,
        FieldType.boolean: CustomFieldValue.bool_value,
    }[info.field_type]
    if op == "is_set":
        return has(column.is_not(None))
    if op == "is_not_set":
        return ~has(column.is_not(None))
    if op in ("is_true", "is_false"):
        return has(column.is_(op == "is_true"))

    match info.field_type:
        case FieldType.number:
            number = _number(value, where)
            comparisons = {
                "eq": column == number,
                "neq": column == number,
                "gt": column > number,
                "gte": column >= number,
                "lt": column < number,
                "lte": column <= number,
            }
            # "is not N" includes customers without a value, like "text is not X".
            return ~has(comparisons[op]) if op == "neq" else has(comparisons[op])
        case FieldType.date:
            if op == "within_days":
                since = (now - timedelta(days=_days(value, where))).date()
                return has(column >= since, column <= now.date())
            day = _date(value, where)
            comparisons = {"eq": column == day, "before": column < day, "after": column > day}
            return has(comparisons[op])
        case FieldType.choice:
            values = value if op in ("in", "not_in") else [value]
            if not isinstance(values, list) or not values:
                raise SegmentError(f"{where}: choose at least one value.")
            chosen = [_text(v, where) for v in values]
            unknown = [v for v in chosen if v not in info.choices]
            if unknown:
                allowed_choices = ", ".join(info.choices)
                raise SegmentError(
                    f'{where}: "{unknown[0]}" is not a choice; use one of {allowed_choices}.'
                )
            matched = has(column.in_(chosen))
            return ~matched if op in ("neq", "not_in") else matched
        case _:
            text = _text(value, where).lower()
            lowered = func.lower(column)
            if op in ("contains", "not_contains"):
                matched = has(lowered.contains(text, autoescape=True))
            else:
                matched = has(lowered == text)
            return ~matched if op in ("neq", "not_contains") else matched
