"""Customers files: each column validated at once (a distinct value parsed once), then the
valid rows written as customers, their tags and custom field values."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.customers.importer.bulk import LOOKUP_CHUNK, _customer_ids, _lower_email_in, _upsert
from helpdesk.customers.importer.files import read_csv
from helpdesk.customers.importer.headers import (
    _check_columns,
    _custom_fields,
    _customer_columns,
    _with_column_names,
)
from helpdesk.customers.importer.plan import (
    MAX_LENGTHS,
    CustomerRow,
    ExistingCustomer,
    ImportPlan,
    RowError,
    _detail,
    _table,
)
from helpdesk.customers.models import (
    Customer,
    CustomField,
    CustomFieldValue,
    FieldType,
    ImportKind,
    SubscriptionStatus,
    Tag,
    customer_tags,
)
from helpdesk.customers.service import FieldValueError, parse_field_value
from helpdesk.db import chunks, utcnow
from helpdesk.events.service import Subject, record_events
from helpdesk.normalize import (
    MAX_PHONE,
    EmailNormalizer,
    InvalidEmail,
    InvalidPhone,
    PhoneTooLong,
    normalize_phone,
    normalize_tags,
    normalize_text,
)

CONSENT_SOURCE = "csv import"
# The customers table columns an import writes, in the order of the value tuples.
CUSTOMER_WRITE_COLUMNS = (
    "email",
    "name",
    "given_name",
    "family_name",
    "name_parts_entered",
    "phone",
    "company",
    "subscription_status",
    "consent_at",
    "consent_source",
    "unsubscribed_at",
    "created_at",
    "updated_at",
)
# An update writes everything but the address and the creation time.
CUSTOMER_UPDATE_COLUMNS = tuple(
    name for name in CUSTOMER_WRITE_COLUMNS if name not in ("email", "created_at")
)
VALUE_COLUMNS = ("text_value", "number_value", "date_value", "bool_value")
_VALUE_INDEX = {
    FieldType.text: 0,
    FieldType.choice: 0,
    FieldType.number: 1,
    FieldType.date: 2,
    FieldType.boolean: 3,
}
_MISSING = object()


def _parse_column(values: list[str], parse: Callable[[str], Any]) -> list[Any]:
    """`parse` for every cell, each distinct text parsed once; a ValueError it raises is
    returned in the cell's place, so a bad value is reported on every line it is on."""
    results: dict[str, Any] = {}
    parsed = []
    for value in values:
        result = results.get(value, _MISSING)
        if result is _MISSING:
            try:
                result = parse(value)
            except ValueError as exc:
                result = exc
            results[value] = result
        parsed.append(result)
    return parsed


def plan_customers(session: Session, content: bytes) -> ImportPlan:
    csv_file = read_csv(content)
    fields = _custom_fields(session)
    csv_file, written = _with_column_names(csv_file, fields)
    _check_columns(csv_file, _customer_columns(fields), ["email"])
    errors: list[RowError] = []
    table = _table(csv_file, errors)
    lines = table.lines
    count = len(lines)
    empty = [""] * count
    bad: set[int] = set()

    def refuse(index: int, column: str, code: str, params: dict[str, Any] | None = None) -> None:
        errors.append(RowError(lines[index], written.get(column, column), code, params or {}))
        bad.add(index)

    emails = _plan_emails(table.columns["email"], refuse, lines)
    texts = {}
    for name in ("name", "given_name", "family_name", "company"):
        texts[name] = _parse_column(table.columns.get(name, empty), normalize_text)
        limit = MAX_LENGTHS[name]
        for index in [i for i, value in enumerate(texts[name]) if len(value) > limit]:
            refuse(index, name, "too_long", {"max": limit})
    phones = table.columns.get("phone", empty)
    phones = [_phone(raw, index, refuse) if raw else "" for index, raw in enumerate(phones)]
    statuses = _parse_column(table.columns.get("subscription_status", empty), _status)
    for index, status in enumerate(statuses):
        if isinstance(status, ValueError):
            raw = table.columns["subscription_status"][index]
            allowed = ", ".join(_STATUS_WORDS)
            refuse(
                index, "subscription_status", "invalid_status", {"value": raw, "allowed": allowed}
            )
    custom_values = []
    for name in csv_file.columns:
        if name not in fields:
            continue
        custom = fields[name]
        values = _parse_column(table.columns[name], lambda raw, c=custom: _field_value(c, raw))
        for index, value in enumerate(values):
            if isinstance(value, FieldValueError):
                params = {"value": table.columns[name][index], **value.message.params}
                refuse(index, name, value.code, params)
        custom_values.append((custom.id, values))
    tags = _parse_column(table.columns.get("tags", empty), normalize_tags)
    field_values: list[dict[int, tuple]] = [{} for _ in range(count)]
    for field_id, values in custom_values:
        for by_field, value in zip(field_values, values, strict=True):
            if value is not None and not isinstance(value, ValueError):
                by_field[field_id] = value

    existing = _existing_customers(session, [emails[i] for i in range(count) if i not in bad])
    stored = [existing.get(email.lower()) for email in emails] if existing else [None] * count
    for index, old in enumerate(stored):
        if (
            old is not None
            and statuses[index] is SubscriptionStatus.subscribed
            and old.subscription_status is SubscriptionStatus.unsubscribed
            and index not in bad
        ):
            # Someone who unsubscribed has to opt in again themselves; a spreadsheet
            # is not consent.
            refuse(index, "subscription_status", "resubscribe")
    columns = zip(
        table.positions,
        lines,
        emails,
        texts["name"],
        texts["given_name"],
        texts["family_name"],
        phones,
        texts["company"],
        tags,
        statuses,
        field_values,
        stored,
        strict=True,
    )
    rows = [CustomerRow(*values) for index, values in enumerate(columns) if index not in bad]
    return ImportPlan.of_file(ImportKind.customers, csv_file, rows, errors)


def _plan_emails(raw_emails: list[str], refuse: Callable, lines: list[int]) -> list[str]:
    normalize = EmailNormalizer()
    emails = [""] * len(raw_emails)
    first_line: dict[str, int] = {}
    for index, raw in enumerate(raw_emails):
        if not raw:
            refuse(index, "email", "required")
            continue
        try:
            email = normalize(raw)
        except InvalidEmail as exc:
            refuse(index, "email", "invalid_email", {"value": raw, "detail": _detail(exc)})
            continue
        # The database keeps one customer per lower-cased address.
        first = first_line.setdefault(email.lower(), lines[index])
        if first != lines[index]:
            refuse(index, "email", "duplicate_email", {"first_line": first})
        emails[index] = email
    return emails


def _phone(raw: str, index: int, refuse: Callable) -> str:
    try:
        return normalize_phone(raw)
    except PhoneTooLong:
        refuse(index, "phone", "too_long", {"max": MAX_PHONE})
    except InvalidPhone:
        refuse(index, "phone", "invalid_phone", {"value": raw})
    return ""


_STATUS_WORDS = {status.value: status for status in SubscriptionStatus}


def _status(raw: str) -> SubscriptionStatus | None:
    if not raw:
        return None
    status = _STATUS_WORDS.get(raw.lower().replace(" ", "_").replace("-", "_"))
    if status is None:
        raise ValueError(raw)
    return status


def _field_value(custom: CustomField, raw: str) -> tuple | None:
    """The typed columns of a CustomFieldValue for one cell, by the form's rules."""
    value = parse_field_value(custom, raw)
    if value is None:
        return None
    columns: list[Any] = [None] * len(VALUE_COLUMNS)
    columns[_VALUE_INDEX[custom.field_type]] = value
    return tuple(columns)


def _existing_customers(session: Session, emails: Sequence[str]) -> dict[str, ExistingCustomer]:
    columns = [
        Customer.id,
        Customer.email,
        Customer.name,
        Customer.given_name,
        Customer.family_name,
        Customer.name_parts_entered,
        Customer.phone,
        Customer.company,
        Customer.subscription_status,
        Customer.consent_at,
        Customer.consent_source,
        Customer.unsubscribed_at,
    ]
    found: dict[str, ExistingCustomer] = {}
    # Core rather than ORM execution: the ORM's per-row bookkeeping would double the
    # time of reading back 100,000 customers on a re-import.
    connection = session.connection()
    for chunk in chunks(sorted({email.lower() for email in emails}), LOOKUP_CHUNK):
        query = select(*columns).where(_lower_email_in(session, chunk))
        for record in connection.execute(query):
            found[record.email.lower()] = ExistingCustomer(*record)
    return found


def _apply_customers(
    session: Session, rows: Sequence[CustomerRow], tag_ids: dict[str, int]
) -> tuple[int, int]:
    now = utcnow()
    ids = {row.email.lower(): row.existing.id for row in rows if row.existing}
    changed_rows = [(row, _customer_values(row, now)) for row in rows]
    changed_rows = [(row, values) for row, values in changed_rows if values is not None]
    changes = [values for _, values in changed_rows]
    returned = _upsert(
        session,
        Customer.__table__,
        CUSTOMER_WRITE_COLUMNS,
        changes,
        conflict=[func.lower(Customer.__table__.c.email)],
        update=CUSTOMER_UPDATE_COLUMNS,
        returning=(Customer.id, Customer.email),
    )
    ids.update((email.lower(), id_) for id_, email in returned)
    # SQLite reports nothing back, and a customer can appear between planning and
    # writing (a mail from that address); both are found by address.
    missing = [row.email for row in rows if row.email.lower() not in ids]
    if missing:
        ids.update(_customer_ids(session, missing))

    _ensure_tags(session, {tag for row in rows for tag in row.tags} - tag_ids.keys(), tag_ids)
    _upsert(
        session,
        customer_tags,
        ("customer_id", "tag_id"),
        [(ids[row.email.lower()], tag_ids[tag]) for row in rows for tag in row.tags],
        conflict=["customer_id", "tag_id"],
    )
    _upsert(
        session,
        CustomFieldValue.__table__,
        ("customer_id", "field_id", *VALUE_COLUMNS),
        [
            (ids[row.email.lower()], field_id, *typed)
            for row in rows
            for field_id, typed in row.field_values.items()
        ],
        conflict=["customer_id", "field_id"],
        update=VALUE_COLUMNS,
    )
    _record_import_events(session, [row for row, _ in changed_rows], ids, now)
    updated = sum(1 for row in rows if row.existing)
    return len(rows) - updated, updated


def _record_import_events(
    session: Session, written: Sequence[CustomerRow], ids: dict[str, int], now: datetime
) -> None:
    """customer.created / customer.updated for the rows whose record changed, one
    INSERT per type for the whole chunk (a re-import of unchanged rows records none)."""
    by_type: dict[str, list] = {"customer.created": [], "customer.updated": []}
    for row in written:
        customer_id = ids[row.email.lower()]
        type_ = "customer.updated" if row.existing else "customer.created"
        payload = {"customer_id": customer_id, "email": row.email, "source": "import"}
        by_type[type_].append((Subject("customer", customer_id), payload))
    for type_, items in by_type.items():
        record_events(session, type_, items, now=now)


def _customer_values(row: CustomerRow, now: datetime) -> tuple | None:
    """The row's customer as CUSTOMER_WRITE_COLUMNS: empty cells keep what is stored.

    None when a stored customer would not change, so re-importing a file (or an export)
    writes nothing for its customers and leaves their "last changed" time alone.
    """
    old = row.existing
    name, parts, entered = row.name_parts()
    if old is None:
        status = row.status or SubscriptionStatus.not_subscribed
        consent_at, consent_source, unsubscribed_at = None, "", None
        if status is SubscriptionStatus.subscribed:
            consent_at, consent_source = now, CONSENT_SOURCE
        elif status is SubscriptionStatus.unsubscribed:
            unsubscribed_at = now
        return (
            row.email,
            name,
            parts.given,
            parts.family,
            entered,
            row.phone,
            row.company,
            status.value,
            consent_at,
            consent_source,
            unsubscribed_at,
            now,
            now,
        )
    status = row.status or old.subscription_status
    consent_at, consent_source = old.consent_at, old.consent_source
    unsubscribed_at = old.unsubscribed_at
    if status is not old.subscription_status:
        if status is SubscriptionStatus.subscribed:
            consent_at, consent_source = now, CONSENT_SOURCE
        elif status is SubscriptionStatus.unsubscribed:
            unsubscribed_at = now
    changeable = (
        name,
        parts.given,
        parts.family,
        entered,
        row.phone or old.phone,
        row.company or old.company,
        status.value,
        consent_at,
        consent_source,
        unsubscribed_at,
    )
    stored = (
        old.name,
        old.given_name,
        old.family_name,
        old.name_parts_entered,
        old.phone,
        old.company,
        old.subscription_status.value,
        old.consent_at,
        old.consent_source,
        old.unsubscribed_at,
    )
    return None if changeable == stored else (row.email, *changeable, now, now)


def _ensure_tags(session: Session, names: set[str], tag_ids: dict[str, int]) -> None:
    if not names:
        return
    _upsert(session, Tag.__table__, ("name",), [(name,) for name in sorted(names)], ["name"])
    query = select(Tag.id, Tag.name).where(Tag.name.in_(sorted(names)))
    tag_ids.update((name, id_) for id_, name in session.execute(query))
