"""Customer rules: records, tags, consent, custom fields, purchases, contact notes, search.

Refusals carry lazy texts (helpdesk.text), so this module needs no Flask; they become
text in the viewer's language when the page shows them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation

from babel.numbers import list_currencies
from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from helpdesk.customers.models import (
    ContactNote,
    Customer,
    CustomField,
    CustomFieldValue,
    FieldType,
    NoteKind,
    Purchase,
    SubscriptionStatus,
    Tag,
    customer_tags,
)
from helpdesk.customers.names import NameParts, resolve_name_parts
from helpdesk.customers.timeline import TimelineEntry, customer_timeline
from helpdesk.db import utcnow
from helpdesk.normalize import (
    MAX_PHONE,
    InvalidEmail,
    InvalidPhone,
    PhoneTooLong,
    normalize_email,
    normalize_phone,
    normalize_tags,
    normalize_text,
)
from helpdesk.text import LazyText
from helpdesk.text import lazy_text as _l

# Built-in CSV columns; custom field keys may not reuse them or import/export would clash.
BUILTIN_COLUMNS = (
    "email",
    "name",
    "given_name",
    "family_name",
    "phone",
    "company",
    "tags",
    "subscription_status",
    "consent_at",
    "consent_source",
    "unsubscribed_at",
    "created_at",
)
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_TEXT_VALUE = 2000
MAX_NOTE = 10_000
_CURRENCIES = frozenset(list_currencies())
_TRUE = frozenset({"yes", "y", "true", "t", "1", "on", "예", "네"})
_FALSE = frozenset({"no", "n", "false", "f", "0", "off", "아니요", "아니오"})
_GROUPED_NUMBER = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
# Numeric(18, 4) for custom numbers, Numeric(12, 2) for purchase amounts.
_NUMBER_LIMIT = Decimal(10) ** 14
_AMOUNT_LIMIT = Decimal(10) ** 10
_VALUE_COLUMN = {
    FieldType.text: "text_value",
    FieldType.choice: "text_value",
    FieldType.number: "number_value",
    FieldType.date: "date_value",
    FieldType.boolean: "bool_value",
}


class InvalidInput(ValueError):
    """Refused input; ``errors`` maps each offending form field name to its message."""

    def __init__(self, errors: Mapping[str, LazyText]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{key}: {message}" for key, message in self.errors.items()))


class CustomerInvalid(InvalidInput):
    pass


class CustomFieldInvalid(InvalidInput):
    pass


class PurchaseInvalid(InvalidInput):
    pass


class NoteInvalid(InvalidInput):
    pass


class FilterInvalid(InvalidInput):
    pass


class FieldValueError(ValueError):
    """A custom field value does not fit the field's type.

    ``code`` names the broken rule (the CSV importer reports it per line), ``message``
    says what fits.
    """

    def __init__(self, code: str, message: LazyText):
        super().__init__(str(message))
        self.code = code
        self.message = message


# --- custom field values -------------------------------------------------------------


FieldValue = str | Decimal | date | bool


def parse_decimal(raw: str) -> Decimal:
    """A plain number; "1,234.5" grouping is accepted, a decimal comma is not (ambiguous)."""
    text = raw.strip().replace(" ", "")
    if _GROUPED_NUMBER.match(text):
        text = text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(raw) from None
    if not number.is_finite():
        raise ValueError(raw)
    return number


def parse_field_value(custom_field: CustomField, raw: str | None) -> FieldValue | None:
    """Typed value for a field from text a person or a CSV cell gave; None when empty.

    The form, the list filter and the CSV importer all parse values here. Columns repeat
    few distinct values over a large import, so the importer caches results per cell text.
    """
    text = (raw or "").strip()
    if not text:
        return None
    label = custom_field.label
    match custom_field.field_type:
        case FieldType.text:
            value = normalize_text(text)
            if len(value) > MAX_TEXT_VALUE:
                raise FieldValueError(
                    "too_long",
                    _l(
                        "%(label)s is too long (at most %(max)d characters).",
                        label=label,
                        max=MAX_TEXT_VALUE,
                    ),
                )
            return value
        case FieldType.number:
            try:
                number = parse_decimal(text)
            except ValueError:
                raise FieldValueError(
                    "invalid_number", _l("%(label)s must be a number, like 42 or 3.5.", label=label)
                ) from None
            if abs(number) >= _NUMBER_LIMIT or number.as_tuple().exponent < -4:
                raise FieldValueError(
                    "invalid_number",
                    _l(
                        "%(label)s must be below 100 trillion with at most 4 decimal places.",
                        label=label,
                    ),
                )
            return number
        case FieldType.date:
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise FieldValueError(
                    "invalid_date",
                    _l("%(label)s must be a date written as YYYY-MM-DD.", label=label),
                ) from None
        case FieldType.boolean:
            lowered = text.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise FieldValueError(
                "invalid_boolean", _l("%(label)s must be yes or no.", label=label)
            )
        case FieldType.choice:
            for choice in custom_field.choices:
                if choice.casefold() == text.casefold():
                    return choice
            raise FieldValueError(
                "invalid_choice",
                _l(
                    "%(label)s must be one of: %(choices)s.",
                    label=label,
                    choices=", ".join(custom_field.choices),
                ),
            )
    raise ValueError(f"unknown field type {custom_field.field_type!r}")


def _check_typed(custom_field: CustomField, value: FieldValue) -> FieldValue:
    kind = custom_field.field_type
    if kind in (FieldType.text, FieldType.choice) and isinstance(value, str):
        if kind == FieldType.choice and value not in custom_field.choices:
            return parse_field_value(custom_field, value)
        return value
    if (
        kind == FieldType.number
        and isinstance(value, int | Decimal)
        and not isinstance(value, bool)
    ):
        return Decimal(value)
    if kind == FieldType.date and isinstance(value, date) and not isinstance(value, datetime):
        return value
    if kind == FieldType.boolean and isinstance(value, bool):
        return value
    if isinstance(value, str):
        return parse_field_value(custom_field, value)
    raise FieldValueError(
        "wrong_type",
        _l(
            "%(label)s: a %(given)s does not fit a %(kind)s field.",
            label=custom_field.label,
            given=type(value).__name__,
            kind=kind.value,
        ),
    )


def set_field_value(
    session: Session, customer: Customer, custom_field: CustomField, value: FieldValue | None
) -> None:
    """Store a typed value (as parse_field_value returns it); None removes the value."""
    existing = next((v for v in customer.field_values if v.field_id == custom_field.id), None)
    if value is None or value == "":
        if existing is not None:
            customer.field_values.remove(existing)
        return
    value = _check_typed(custom_field, value)
    if existing is None:
        existing = CustomFieldValue(field=custom_field)
        customer.field_values.append(existing)
    for column in set(_VALUE_COLUMN.values()):
        setattr(existing, column, None)
    setattr(existing, _VALUE_COLUMN[custom_field.field_type], value)


def typed_value(stored: CustomFieldValue) -> FieldValue | None:
    return getattr(stored, _VALUE_COLUMN[stored.field.field_type])


def format_field_value(custom_field: CustomField, value: FieldValue | None) -> str:
    """The text form that parse_field_value reads back (form defaults, CSV export)."""
    if value is None:
        return ""
    if custom_field.field_type == FieldType.boolean:
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def format_decimal(value: Decimal) -> str:
    return format(value.normalize(), "f") if value != 0 else "0"


def field_values_by_key(customer: Customer) -> dict[str, FieldValue]:
    return {v.field.key: typed_value(v) for v in customer.field_values}


# --- custom field definitions --------------------------------------------------------


@dataclass
class CustomFieldData:
    key: str
    label: str
    field_type: FieldType | str
    choices: str | Sequence[str] = ()
    position: int = 0


def list_custom_fields(session: Session) -> list[CustomField]:
    return list(session.scalars(select(CustomField).order_by(CustomField.position, CustomField.id)))


def get_custom_field_by_key(session: Session, key: str) -> CustomField | None:
    return session.scalar(select(CustomField).where(CustomField.key == key))


def _clean_choices(raw: str | Sequence[str]) -> list[str]:
    items = raw.splitlines() if isinstance(raw, str) else raw
    seen: dict[str, str] = {}
    for item in items:
        choice = normalize_text(item)
        if choice:
            seen.setdefault(choice.casefold(), choice)
    return list(seen.values())


def _validate_custom_field(
    session: Session, data: CustomFieldData, existing: CustomField | None
) -> tuple[str, str, FieldType, list[str]]:
    errors: dict[str, LazyText] = {}
    key = (data.key or "").strip()
    label = normalize_text(data.label)
    if not KEY_PATTERN.match(key):
        errors["key"] = _l(
            "Use 1-64 lower-case letters, digits and underscores, starting with a letter."
        )
    elif key in BUILTIN_COLUMNS:
        errors["key"] = _l("%(key)s is a built-in customer column; choose another key.", key=key)
    else:
        clash = session.scalar(select(CustomField.id).where(CustomField.key == key))
        if clash is not None and (existing is None or clash != existing.id):
            errors["key"] = _l("A custom field with the key %(key)s already exists.", key=key)
    if not label:
        errors["label"] = _l("A label is required.")
    elif len(label) > 200:
        errors["label"] = _l("The label is too long (at most 200 characters).")
    try:
        field_type = FieldType(data.field_type)
    except ValueError:
        errors["field_type"] = _l("Choose a field type.")
        field_type = None
    choices = _clean_choices(data.choices) if field_type == FieldType.choice else []
    if field_type == FieldType.choice and not choices:
        errors["choices"] = _l("A choice field needs at least one choice, one per line.")
    elif any(len(choice) > 200 for choice in choices):
        errors["choices"] = _l("Each choice may be at most 200 characters.")
    if existing is not None and field_type is not None and not errors:
        errors.update(_changes_refused_by_stored_values(session, existing, field_type, choices))
    if errors:
        raise CustomFieldInvalid(errors)
    return key, label, field_type, choices


def _changes_refused_by_stored_values(
    session: Session, existing: CustomField, field_type: FieldType, choices: list[str]
) -> dict[str, LazyText]:
    stored = select(CustomFieldValue).where(CustomFieldValue.field_id == existing.id)
    if field_type != existing.field_type:
        if session.scalar(select(exists(stored))):
            return {
                "field_type": _l(
                    "Customers already have values for this field, so its type cannot change."
                )
            }
        return {}
    if field_type == FieldType.choice:
        removed = [c for c in existing.choices if c not in choices]
        in_use = session.scalars(
            select(CustomFieldValue.text_value)
            .where(CustomFieldValue.field_id == existing.id)
            .where(CustomFieldValue.text_value.in_(removed))
            .distinct()
        ).all()
        if in_use:
            return {
                "choices": _l(
                    "These choices are still used by customers: %(choices)s.",
                    choices=", ".join(sorted(in_use)),
                )
            }
    return {}


def create_custom_field(session: Session, data: CustomFieldData) -> CustomField:
    key, label, field_type, choices = _validate_custom_field(session, data, None)
    custom_field = CustomField(
        key=key, label=label, field_type=field_type, choices=choices, position=data.position
    )
    try:
        with session.begin_nested():
            session.add(custom_field)
    except IntegrityError:
        raise CustomFieldInvalid(
            {"key": _l("A custom field with the key %(key)s already exists.", key=key)}
        ) from None
    return custom_field


def update_custom_field(session: Session, custom_field: CustomField, data: CustomFieldData):
    key, label, field_type, choices = _validate_custom_field(session, data, custom_field)
    custom_field.key = key
    custom_field.label = label
    custom_field.field_type = field_type
    custom_field.choices = choices
    custom_field.position = data.position
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise CustomFieldInvalid(
            {"key": _l("A custom field with the key %(key)s already exists.", key=key)}
        ) from None
    return custom_field


def delete_custom_field(session: Session, custom_field: CustomField) -> None:
    session.delete(custom_field)
    session.flush()


# --- customers -----------------------------------------------------------------------


@dataclass
class CustomerData:
    email: str
    name: str = ""
    # As typed; both empty: taken from the name. None (both): the caller does not manage
    # them, so parts a person entered stay and derived ones follow the name.
    given_name: str | None = None
    family_name: str | None = None
    phone: str = ""
    company: str = ""
    tags: str | Sequence[str] = ()
    subscription_status: SubscriptionStatus | str = SubscriptionStatus.not_subscribed
    consent_source: str = ""
    # custom field key -> text as typed; a key that is left out keeps its stored value
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _CleanCustomer:
    email: str
    name: str
    name_parts: NameParts
    name_parts_entered: bool
    phone: str
    company: str
    tags: list[str]
    status: SubscriptionStatus
    consent_source: str
    values: list[tuple[CustomField, FieldValue | None]]


def find_customer_by_email(session: Session, email: str) -> Customer | None:
    """Matches regardless of case, as the unique index on lower(email) does."""
    return session.scalar(select(Customer).where(func.lower(Customer.email) == email.lower()))


def get_customer(session: Session, customer_id: int) -> Customer | None:
    return session.get(Customer, customer_id)


def _email_taken(session: Session, email: str, customer: Customer | None) -> bool:
    query = select(Customer.id).where(func.lower(Customer.email) == email.lower())
    if customer is not None and customer.id is not None:
        query = query.where(Customer.id != customer.id)
    return session.scalar(query) is not None


def _duplicate_email(email: str) -> CustomerInvalid:
    return CustomerInvalid(
        {"email": _l("A customer with the email %(email)s already exists.", email=email)}
    )


def _validate_customer(
    session: Session, data: CustomerData, customer: Customer | None
) -> _CleanCustomer:
    errors: dict[str, LazyText] = {}
    email = ""
    try:
        email = normalize_email(data.email)
    except InvalidEmail:
        if not (data.email or "").strip():
            errors["email"] = _l("An email address is required.")
        else:
            errors["email"] = _l("%(email)s is not a valid email address.", email=data.email)
    if email and len(email) > 320:
        errors["email"] = _l("The email address is too long.")
    elif email and _email_taken(session, email, customer):
        errors.update(_duplicate_email(email).errors)
    name = normalize_text(data.name)
    company = normalize_text(data.company)
    given_name = normalize_text(data.given_name)
    family_name = normalize_text(data.family_name)
    for key, value in (
        ("name", name),
        ("given_name", given_name),
        ("family_name", family_name),
        ("company", company),
    ):
        if len(value) > 200:
            errors[key] = _l("At most 200 characters.")
    parts_left_out = data.given_name is None and data.family_name is None
    if parts_left_out and customer is not None and customer.name_parts_entered:
        given_name, family_name = customer.given_name, customer.family_name
    name_parts, name_parts_entered = resolve_name_parts(name, given_name, family_name)
    phone = ""
    try:
        phone = normalize_phone(data.phone)
    except PhoneTooLong:
        errors["phone"] = _l("At most %(max)d characters.", max=MAX_PHONE)
    except InvalidPhone:
        errors["phone"] = _l(
            "Use digits, spaces and + ( ) - . in a phone number, with an optional extension"
            " like x12."
        )
    try:
        status = SubscriptionStatus(data.subscription_status)
    except ValueError:
        errors["subscription_status"] = _l("Choose a subscription status.")
        status = SubscriptionStatus.not_subscribed
    consent_source = normalize_text(data.consent_source)
    if len(consent_source) > 100:
        errors["consent_source"] = _l("At most 100 characters.")
    fields_by_key = {f.key: f for f in list_custom_fields(session)}
    values: list[tuple[CustomField, FieldValue | None]] = []
    for key, raw in data.fields.items():
        custom_field = fields_by_key.get(key)
        if custom_field is None:
            errors[f"cf_{key}"] = _l("There is no custom field %(key)s.", key=key)
            continue
        try:
            values.append((custom_field, parse_field_value(custom_field, raw)))
        except FieldValueError as exc:
            errors[f"cf_{key}"] = exc.message
    if errors:
        raise CustomerInvalid(errors)
    return _CleanCustomer(
        email=email,
        name=name,
        name_parts=name_parts,
        name_parts_entered=name_parts_entered,
        phone=phone,
        company=company,
        tags=normalize_tags(data.tags),
        status=status,
        consent_source=consent_source,
        values=values,
    )


def tags_named(session: Session, names: Sequence[str]) -> list[Tag]:
    """Existing tags by name, creating the missing ones (safe when two requests race)."""
    if not names:
        return []
    found = {t.name: t for t in session.scalars(select(Tag).where(Tag.name.in_(names)))}
    for name in names:
        if name in found:
            continue
        tag = Tag(name=name)
        try:
            with session.begin_nested():
                session.add(tag)
        except IntegrityError:
            tag = session.scalar(select(Tag).where(Tag.name == name))
        found[name] = tag
    return [found[name] for name in names]


def set_subscription(
    customer: Customer,
    status: SubscriptionStatus | str,
    *,
    source: str = "",
    now: datetime | None = None,
) -> None:
    """Record consent when someone subscribes and the time whenever they opt out.

    The timestamps are the evidence a campaign send relies on, so they change only on a
    real change of status.
    """
    status = SubscriptionStatus(status)
    previous = customer.subscription_status
    if status == previous:
        return
    now = now or utcnow()
    if status == SubscriptionStatus.subscribed:
        customer.consent_at = now
        customer.consent_source = source or "manual"
    elif status == SubscriptionStatus.unsubscribed or previous == SubscriptionStatus.subscribed:
        customer.unsubscribed_at = now
    customer.subscription_status = status


def _apply(session: Session, customer: Customer, clean: _CleanCustomer, now: datetime) -> None:
    customer.email = clean.email
    customer.name = clean.name
    customer.given_name = clean.name_parts.given
    customer.family_name = clean.name_parts.family
    customer.name_parts_entered = clean.name_parts_entered
    customer.phone = clean.phone
    customer.company = clean.company
    customer.tags = sorted(tags_named(session, clean.tags), key=lambda tag: tag.name)
    set_subscription(customer, clean.status, source=clean.consent_source, now=now)
    for custom_field, value in clean.values:
        set_field_value(session, customer, custom_field, value)


def create_customer(session: Session, data: CustomerData, *, now: datetime | None = None):
    now = now or utcnow()
    clean = _validate_customer(session, data, None)
    customer = Customer(
        subscription_status=SubscriptionStatus.not_subscribed,
        consent_source="",
        created_at=now,
        updated_at=now,
    )
    _apply(session, customer, clean, now)
    try:
        with session.begin_nested():
            session.add(customer)
            session.flush()
    except IntegrityError:
        # Another request stored the same address between our check and this insert.
        raise _duplicate_email(clean.email) from None
    return customer


def update_customer(
    session: Session, customer: Customer, data: CustomerData, *, now: datetime | None = None
) -> Customer:
    now = now or utcnow()
    clean = _validate_customer(session, data, customer)
    try:
        with session.begin_nested():
            _apply(session, customer, clean, now)
            session.flush()
    except IntegrityError:
        raise _duplicate_email(clean.email) from None
    return customer


def delete_customer(session: Session, customer: Customer) -> None:
    session.delete(customer)
    session.flush()


# --- purchases -----------------------------------------------------------------------


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


# --- contact notes -------------------------------------------------------------------


def add_note(
    session: Session,
    customer: Customer,
    *,
    author_id: int | None,
    kind: NoteKind | str,
    happened_at: datetime | str,
    body: str,
    tz: tzinfo = UTC,
    now: datetime | None = None,
) -> ContactNote:
    now = now or utcnow()
    errors: dict[str, LazyText] = {}
    try:
        note_kind = NoteKind(kind)
    except ValueError:
        errors["kind"] = _l("Choose call, meeting, chat or other.")
        note_kind = NoteKind.other
    text = (body or "").strip()
    if not text:
        errors["body"] = _l("Write what was discussed.")
    elif len(text) > MAX_NOTE:
        errors["body"] = _l("At most %(max)d characters.", max=MAX_NOTE)
    try:
        when = _to_utc(happened_at, tz, with_time=True)
        # A note records something that happened; a small margin allows for clock skew.
        if when > now + timedelta(minutes=5):
            errors["happened_at"] = _l("The contact cannot be in the future.")
    except (ValueError, TypeError):
        errors["happened_at"] = _l("Enter the date and time of the contact.")
        when = now
    if errors:
        raise NoteInvalid(errors)
    note = ContactNote(
        customer_id=customer.id,
        author_id=author_id,
        kind=note_kind,
        happened_at=when,
        body=text,
        created_at=now,
    )
    session.add(note)
    session.flush()
    return note


def notes_of(session: Session, customer_id: int) -> list[ContactNote]:
    return list(
        session.scalars(
            select(ContactNote)
            .options(selectinload(ContactNote.author))
            .where(ContactNote.customer_id == customer_id)
            .order_by(ContactNote.happened_at.desc(), ContactNote.id.desc())
        )
    )


# --- search, filters, sorting --------------------------------------------------------

SORTS = ("name", "-name", "email", "-email", "created", "-created", "spend", "-spend")


@dataclass(frozen=True)
class CustomerFilter:
    text: str = ""
    tag: str = ""
    status: str = ""
    field_key: str = ""
    field_value: str = ""
    sort: str = "name"


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


def customer_statement(session: Session, flt: CustomerFilter) -> Select[tuple[Customer]]:
    """The filtered, sorted customer query shared by the list page and the CSV export."""
    query = select(Customer)
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
        query = query.where(
            exists(
                select(customer_tags.c.customer_id)
                .join(Tag, Tag.id == customer_tags.c.tag_id)
                .where(customer_tags.c.customer_id == Customer.id, Tag.name == tags[0])
            )
        )
    if flt.status:
        try:
            query = query.where(Customer.subscription_status == SubscriptionStatus(flt.status))
        except ValueError:
            raise FilterInvalid({"status": _l("Unknown subscription status.")}) from None
    if flt.field_key and flt.field_value.strip():
        query = query.where(_field_equals(session, flt.field_key, flt.field_value))
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
    measure = func.count() if spend_sorts_by_count(session) else func.sum(Purchase.amount)
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


# --- the record page -----------------------------------------------------------------


@dataclass
class CustomerRecord:
    customer: Customer
    fields: list[tuple[CustomField, FieldValue | None]]
    purchases: list[Purchase]
    lifetime_value: list[Money]
    notes: list[ContactNote]
    timeline: list[TimelineEntry]


def customer_record(
    session: Session, customer: Customer, timeline_limit: int = 50
) -> CustomerRecord:
    values = {v.field_id: typed_value(v) for v in customer.field_values}
    return CustomerRecord(
        customer=customer,
        fields=[(f, values.get(f.id)) for f in list_custom_fields(session)],
        purchases=purchases_of(session, customer.id),
        lifetime_value=lifetime_value(session, customer.id),
        notes=notes_of(session, customer.id),
        timeline=customer_timeline(session, customer.id, limit=timeline_limit),
    )
