"""Custom field values: a cell or form value parsed by the field's type (the form, the list
filter and the CSV importer all parse here), stored in its typed column, and shown."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.customers.models import Customer, CustomField, CustomFieldValue, FieldType
from helpdesk.normalize import normalize_text
from helpdesk.text import LazyText
from helpdesk.text import lazy_text as _l

MAX_TEXT_VALUE = 2000
_TRUE = frozenset({"yes", "y", "true", "t", "1", "on", "예", "네"})
_FALSE = frozenset({"no", "n", "false", "f", "0", "off", "아니요", "아니오"})
# The custom field that says which language a customer reads (replies are signed in it),
# and how its values are written: a code ("ko", "ko-KR", "en_US", "kor") or the language's name.
LANGUAGE_FIELD_KEY = "language"
_LANGUAGE_NAMES = {
    "kor": "ko",
    "korean": "ko",
    "한국어": "ko",
    "eng": "en",
    "english": "en",
    "영어": "en",
}
_LANGUAGE_CODE = re.compile(r"^(en|ko)(?:[-_][a-z0-9]+)*$")
_GROUPED_NUMBER = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
# Numeric(18, 4) for custom numbers.
_NUMBER_LIMIT = Decimal(10) ** 14
_VALUE_COLUMN = {
    FieldType.text: "text_value",
    FieldType.choice: "text_value",
    FieldType.number: "number_value",
    FieldType.date: "date_value",
    FieldType.boolean: "bool_value",
}


class FieldValueError(ValueError):
    """A custom field value does not fit the field's type.

    ``code`` names the broken rule (the CSV importer reports it per line), ``message``
    says what fits.
    """

    def __init__(self, code: str, message: LazyText):
        super().__init__(str(message))
        self.code = code
        self.message = message


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


def customer_language(session: Session, customer_id: int) -> str | None:
    """ "en" or "ko" from the customer's `language` field, or None when the field is
    missing, empty or names another language."""
    value = session.scalar(
        select(CustomFieldValue.text_value)
        .join(CustomField, CustomField.id == CustomFieldValue.field_id)
        .where(
            CustomFieldValue.customer_id == customer_id,
            CustomField.key == LANGUAGE_FIELD_KEY,
        )
    )
    text = (value or "").strip().lower()
    match = _LANGUAGE_CODE.match(text)
    return match.group(1) if match else _LANGUAGE_NAMES.get(text)
