"""Custom field definitions: their keys, types and choices, and the changes refused while
stored values would no longer fit."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from helpdesk.customers.models import CustomField, CustomFieldValue, FieldType
from helpdesk.customers.service.errors import CustomFieldInvalid
from helpdesk.normalize import normalize_text
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
