"""CSV import of customers and purchases: decode, validate every row, then bulk upsert.

An import runs in two steps. `plan_import` reads the whole file and validates every row
without writing anything (the preview uses it as the dry run); `apply_plan` writes the
valid rows in batches, so 100,000 rows take seconds, not minutes. A row with any error
is skipped whole; every batch is one transaction, so a row's customer, tags and custom
field values land together or not at all.

The cell rules are the ones the forms use (`normalize_email`, `normalize_phone`,
`service.parse_field_value`); a file is checked column by column, and columns with few
distinct values (tags, statuses, custom fields) are parsed once per distinct value.

Errors carry a code and parameters rather than English text: they are stored with the
import job and translated when a page or the error report shows them.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import list_currencies
from sqlalchemy import (
    String,
    Table,
    any_,
    bindparam,
    column,
    func,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, defer

from helpdesk.customers.export import unguard_cell
from helpdesk.customers.models import (
    Customer,
    CustomField,
    CustomFieldValue,
    FieldType,
    ImportJob,
    ImportKind,
    ImportStatus,
    Purchase,
    SubscriptionStatus,
    Tag,
    customer_tags,
)
from helpdesk.customers.names import NameParts, resolve_name_parts, split_name
from helpdesk.customers.service import (
    BUILTIN_COLUMNS,
    FieldValueError,
    parse_decimal,
    parse_field_value,
)
from helpdesk.db import chunks, utcnow
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

ENCODINGS = ("utf-8-sig", "cp949")
DELIMITERS = (",", ";", "\t")
# Rows per transaction: the progress bar moves once per batch, and each batch costs a
# commit and a few statements, which stay small next to writing 5,000 rows.
BATCH_SIZE = 5000
# Keys per lookup query; each query passes them as one array (PostgreSQL) or one JSON
# text (SQLite), so this bounds memory, not a parameter limit.
LOOKUP_CHUNK = 20_000
PREVIEW_ROWS = 10
CONSENT_SOURCE = "csv import"

CUSTOMER_COLUMNS = (
    "email",
    "name",
    "given_name",
    "family_name",
    "phone",
    "company",
    "tags",
    "subscription_status",
)
# Other headers for the name part columns, as address books, shop systems and Korean
# spreadsheets write them (compared lower-cased, with spaces, "_" and "-" alike). A custom
# field with the same key keeps its column.
NAME_PART_HEADERS = {
    **dict.fromkeys(
        ("given name", "givenname", "first name", "firstname", "forename"), "given_name"
    ),
    **dict.fromkeys(
        ("family name", "familyname", "last name", "lastname", "surname", "성"), "family_name"
    ),
}
# 이름 is the given name next to a 성 column; on its own it usually means the whole name,
# so it is then refused as unknown rather than guessed.
KOREAN_GIVEN_NAME_HEADER = "이름"
_HEADER_SEPARATORS = re.compile(r"[\s_-]+")
# The export also writes these; the importer accepts and ignores them, so an exported
# file imports back. Consent evidence comes from real sign-ups, not from a spreadsheet.
EXPORT_ONLY_COLUMNS = tuple(name for name in BUILTIN_COLUMNS if name not in CUSTOMER_COLUMNS)
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
PURCHASE_COLUMNS = ("email", "product", "quantity", "amount", "currency", "date", "order_ref")
PURCHASE_REQUIRED = ("email", "product", "amount", "currency", "date")

MAX_LENGTHS = {
    "name": 200,
    "given_name": 200,
    "family_name": 200,
    "company": 200,
    "product": 200,
    "order_ref": 100,
}
# Numeric(12, 2) for amounts.
MAX_AMOUNT = Decimal("1e10")
MAX_QUANTITY = 2**31 - 1

CURRENCIES = frozenset(list_currencies())
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_VALUE_INDEX = {
    FieldType.text: 0,
    FieldType.choice: 0,
    FieldType.number: 1,
    FieldType.date: 2,
    FieldType.boolean: 3,
}


class ImportFileError(ValueError):
    """The whole file is refused (encoding, header, not a CSV); nothing is imported."""

    def __init__(self, code: str, line: int = 1, **params: Any) -> None:
        super().__init__(f"{code} at line {line}: {params}")
        self.code = code
        self.line = line
        self.params = params


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "code": self.code, "params": self.params}


@dataclass(frozen=True)
class CsvFile:
    encoding: str
    delimiter: str
    header_line: int
    columns: list[str]
    records: list[tuple[int, list[str]]]


@dataclass(slots=True)
class CustomerRow:
    position: int
    line: int
    email: str
    name: str
    # The name part cells as given ("" for empty); see `name_parts`.
    given_name: str
    family_name: str
    phone: str
    company: str
    tags: list[str]
    status: SubscriptionStatus | None
    # field id -> (text_value, number_value, date_value, bool_value), one of them set
    field_values: dict[int, tuple]
    existing: ExistingCustomer | None = None

    def name_parts(self) -> tuple[str, NameParts, bool]:
        """(name, parts, entered) the row stores: empty cells keep what is stored, and
        parts not entered follow the name."""
        old = self.existing
        name = self.name or (old.name if old else "")
        if old is not None and old.name_parts_entered:
            current = NameParts(old.given_name, old.family_name)
        elif not self.given_name and not self.family_name:
            return name, split_name(name), False
        else:
            current = split_name(name)
        parts, entered = resolve_name_parts(
            name, self.given_name, self.family_name, fallback=current
        )
        return name, parts, entered


@dataclass
class PurchaseRow:
    position: int
    line: int
    email: str
    customer_id: int
    order_ref: str | None
    product: str
    quantity: int
    amount: Decimal
    currency: str
    purchased_at: datetime
    existing: bool = False


@dataclass(frozen=True)
class ExistingCustomer:
    id: int
    email: str
    name: str
    given_name: str
    family_name: str
    name_parts_entered: bool
    phone: str
    company: str
    subscription_status: SubscriptionStatus
    consent_at: datetime | None
    consent_source: str
    unsubscribed_at: datetime | None


@dataclass
class ImportPlan:
    kind: ImportKind
    encoding: str
    delimiter: str
    columns: list[str]
    total_rows: int
    rows: list[CustomerRow] | list[PurchaseRow]
    errors: list[RowError]

    @property
    def new_count(self) -> int:
        return sum(1 for row in self.rows if not row.existing)

    @property
    def updated_count(self) -> int:
        return len(self.rows) - self.new_count

    @property
    def error_rows(self) -> int:
        return len({error.line for error in self.errors})

    def preview(self, limit: int = PREVIEW_ROWS) -> list[CustomerRow] | list[PurchaseRow]:
        return self.rows[:limit]


@dataclass(frozen=True)
class BatchResult:
    processed: int
    created: int
    updated: int


def read_csv(content: bytes) -> CsvFile:
    """Decode, find the delimiter and split into records with the line each starts on."""
    if not content.strip(b"\xef\xbb\xbf \t\r\n"):
        raise ImportFileError("empty")
    if b"\x00" in content:
        raise ImportFileError("binary")
    text, encoding = _decode(content)
    if _CONTROL.search(text[:65536]):
        raise ImportFileError("binary")
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=first_line.count) if first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    line = 1
    try:
        for cells in reader:
            if "".join(cells).strip():
                if header is None:
                    header = cells
                    header_line = line
                else:
                    records.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError("malformed", line=reader.line_num, detail=str(exc)) from None
    if header is None:
        raise ImportFileError("empty")
    columns = [cell.strip().lower() for cell in header]
    for position, name in enumerate(columns, start=1):
        if not name:
            raise ImportFileError("empty_header", line=header_line, position=position)
    duplicates = sorted({name for name in columns if columns.count(name) > 1})
    if duplicates:
        raise ImportFileError("duplicate_columns", line=header_line, columns=", ".join(duplicates))
    if not records:
        raise ImportFileError("no_rows", line=header_line)
    return CsvFile(encoding, delimiter, header_line, columns, records)


def _decode(content: bytes) -> tuple[str, str]:
    for encoding in ENCODINGS:
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-8-sig" and not content.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8"
        return text, encoding
    raise ImportFileError("encoding")


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Pauses Python's cycle collector while a file's rows are built.

    Every few hundred new containers it would walk all live ones, and the hundreds of
    thousands of cells, rows and dicts of a large file are all live, so it would take
    more time than the import itself. Reference counting still frees memory meanwhile.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def plan_import(
    session: Session, kind: ImportKind | str, content: bytes, timezone: str = "UTC"
) -> ImportPlan:
    """Validate the whole file against the database; writes nothing (the dry run)."""
    with _without_cycle_collection():
        if ImportKind(kind) is ImportKind.customers:
            return plan_customers(session, content)
        return plan_purchases(session, content, timezone)


def check_file(session: Session, kind: ImportKind | str, content: bytes) -> CsvFile:
    """The file-level checks alone (encoding, header), cheap enough for the upload request."""
    csv_file = read_csv(content)
    if ImportKind(kind) is ImportKind.purchases:
        _check_columns(csv_file, PURCHASE_COLUMNS, PURCHASE_REQUIRED)
    else:
        fields = _custom_fields(session)
        csv_file, _written = _with_column_names(csv_file, fields)
        _check_columns(csv_file, _customer_columns(fields), ["email"])
    return csv_file


def custom_field_keys(session: Session) -> list[str]:
    """The extra column names a customers file may have."""
    return list(_custom_fields(session))


def _customer_columns(fields: dict[str, CustomField]) -> list[str]:
    return [*CUSTOMER_COLUMNS, *EXPORT_ONLY_COLUMNS, *fields]


def _custom_fields(session: Session) -> dict[str, CustomField]:
    """Custom fields by lower-cased key; a key shadowed by a built-in column cannot be imported."""
    return {
        custom.key.lower(): custom
        for custom in session.scalars(select(CustomField).order_by(CustomField.position))
        if custom.key.lower() not in BUILTIN_COLUMNS
    }


def _with_column_names(
    csv_file: CsvFile, fields: dict[str, CustomField]
) -> tuple[CsvFile, dict[str, str]]:
    """The customers file with other name part headers ("First name", "성") under their
    column names, and those columns' headers as the file writes them, for the error
    report to name the column the person sees."""
    spelled = {name: _HEADER_SEPARATORS.sub(" ", name).strip() for name in csv_file.columns}
    korean_parts = "성" in spelled.values()
    columns: list[str] = []
    written: dict[str, str] = {}
    for name in csv_file.columns:
        column = name
        if name not in fields and name not in CUSTOMER_COLUMNS:
            column = NAME_PART_HEADERS.get(spelled[name], name)
            if spelled[name] == KOREAN_GIVEN_NAME_HEADER and korean_parts:
                column = "given_name"
        if column != name:
            written[column] = name
        columns.append(column)
    twice = {column for column in columns if columns.count(column) > 1}
    if twice:
        raise ImportFileError(
            "duplicate_columns",
            line=csv_file.header_line,
            columns=", ".join(
                name
                for name, column in zip(csv_file.columns, columns, strict=True)
                if column in twice
            ),
        )
    return replace(csv_file, columns=columns), written


def _check_columns(csv_file: CsvFile, allowed: Iterable[str], required: Iterable[str]) -> None:
    allowed = list(allowed)
    missing = [name for name in required if name not in csv_file.columns]
    if missing:
        raise ImportFileError(
            "missing_columns", line=csv_file.header_line, columns=", ".join(missing)
        )
    unknown = [name for name in csv_file.columns if name not in allowed]
    if unknown:
        raise ImportFileError(
            "unknown_columns",
            line=csv_file.header_line,
            columns=", ".join(unknown),
            allowed=", ".join(allowed),
        )


@dataclass
class _Table:
    """The rows of the right width, as columns of cleaned cell text."""

    positions: list[int]
    lines: list[int]
    columns: dict[str, list[str]]


def _table(csv_file: CsvFile, errors: list[RowError]) -> _Table:
    width = len(csv_file.columns)
    padding = [""] * width
    positions: list[int] = []
    lines: list[int] = []
    rows: list[list[str]] = []
    for position, (line, cells) in enumerate(csv_file.records):
        if len(cells) != width:
            if len(cells) > width and "".join(cells[width:]).strip():
                errors.append(
                    RowError(line, "", "too_many_values", {"count": len(cells), "expected": width})
                )
                continue
            # Spreadsheets drop trailing empty cells, so a short row means empty values.
            cells = (cells + padding)[:width]
        positions.append(position)
        lines.append(line)
        rows.append(cells)
    columns: dict[str, list[str]] = {}
    for index, name in enumerate(csv_file.columns):
        values = [cells[index].strip() for cells in rows]
        # One scan in C finds the columns that have an apostrophe anywhere at all.
        if "'" in "".join(values):
            values = [unguard_cell(value) for value in values]
        columns[name] = values
    return _Table(positions, lines, columns)


def _row_cells(
    csv_file: CsvFile, errors: list[RowError]
) -> Iterator[tuple[int, int, dict[str, str]]]:
    """Yields (position, line, cells by column) for rows with the right number of values."""
    table = _table(csv_file, errors)
    names = list(table.columns)
    for index, (position, line) in enumerate(zip(table.positions, table.lines, strict=True)):
        yield position, line, {name: table.columns[name][index] for name in names}


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


# --- customers ---------------------------------------------------------------------------


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
    errors.sort(key=lambda error: error.line)
    return ImportPlan(
        kind=ImportKind.customers,
        encoding=csv_file.encoding,
        delimiter=csv_file.delimiter,
        columns=csv_file.columns,
        total_rows=len(csv_file.records),
        rows=rows,
        errors=errors,
    )


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


def _detail(exc: InvalidEmail) -> str:
    return str(exc).rpartition(": ")[2] or str(exc)


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
    changes = [
        values for values in (_customer_values(row, now) for row in rows) if values is not None
    ]
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
    updated = sum(1 for row in rows if row.existing)
    return len(rows) - updated, updated


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


# --- purchases ---------------------------------------------------------------------------


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
    errors.sort(key=lambda error: error.line)
    return ImportPlan(
        kind=ImportKind.purchases,
        encoding=csv_file.encoding,
        delimiter=csv_file.delimiter,
        columns=csv_file.columns,
        total_rows=len(csv_file.records),
        rows=rows,
        errors=errors,
    )


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
    updated = sum(1 for row in rows if row.existing)
    return len(rows) - updated, updated


# --- writing -----------------------------------------------------------------------------


def apply_plan(
    session: Session,
    plan: ImportPlan,
    *,
    start: int = 0,
    batch_size: int = BATCH_SIZE,
    after_batch: Callable[[BatchResult], None] | None = None,
) -> BatchResult:
    """Writes the plan's valid rows from file position `start` on, one batch at a time.

    `after_batch` runs after each batch is written and before the next; the import job
    records progress and commits there, so a batch and its progress are one transaction
    and a re-run can resume at the first row not yet committed.
    """
    rows = [row for row in plan.rows if row.position >= start]
    created = updated = 0
    tag_ids: dict[str, int] = {}
    for begin in range(0, len(rows), batch_size):
        with _without_cycle_collection():
            batch_created, batch_updated = _apply_batch(
                session, plan.kind, rows[begin : begin + batch_size], tag_ids
            )
        created += batch_created
        updated += batch_updated
        if after_batch is not None:
            last = begin + batch_size >= len(rows)
            processed = plan.total_rows if last else rows[begin + batch_size - 1].position + 1
            after_batch(BatchResult(processed, batch_created, batch_updated))
    return BatchResult(plan.total_rows, created, updated)


def _apply_batch(
    session: Session, kind: ImportKind, batch: Sequence, tag_ids: dict[str, int]
) -> tuple[int, int]:
    if kind is ImportKind.customers:
        return _apply_customers(session, batch, tag_ids)
    return _apply_purchases(session, batch)


def _upsert(
    session: Session,
    target: Table,
    names: Sequence[str],
    rows: list[tuple],
    conflict: list,
    update: Sequence[str] = (),
    returning: Sequence = (),
) -> list[tuple]:
    """INSERT ... ON CONFLICT for many rows given as tuples in the order of `names`.

    Conflicting rows get the `update` columns (only where a value differs, so unchanged
    rows cost no new row version) or are skipped. PostgreSQL: the rows are streamed with
    COPY into a temporary table and go in with one INSERT ... SELECT, so a batch is
    a few statements whatever its size. SQLite has no round trips to save; there the
    rows go to the driver's executemany, converted by the column types' own bind
    processors. Returns the `returning` columns of the written rows on PostgreSQL and
    nothing on SQLite (its executemany cannot return rows).
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        return _upsert_postgresql(session, target, names, rows, conflict, update, returning)
    if dialect.name == "sqlite":
        _upsert_sqlite(session, target, names, rows, conflict, update)
        return []
    raise NotImplementedError(f"CSV import needs SQLite or PostgreSQL, not {dialect.name}")


def _on_conflict(insert, target: Table, conflict: list, update: Sequence[str]):
    if not update:
        return insert.on_conflict_do_nothing(index_elements=conflict)
    return insert.on_conflict_do_update(
        index_elements=conflict,
        set_={name: insert.excluded[name] for name in update},
        where=or_(*(target.c[name].is_distinct_from(insert.excluded[name]) for name in update)),
    )


def _upsert_postgresql(session, target, names, rows, conflict, update, returning) -> list[tuple]:
    dialect = session.get_bind().dialect
    stage = f"import_{target.name}"
    column_list = ", ".join(names)
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {stage} AS"
            f" SELECT {column_list} FROM {target.name} WITH NO DATA"
        )
        # Binary COPY with the stage table's own column types: psycopg then converts
        # values in C, about ten times faster than the text format.
        cursor.execute(f"SELECT {column_list} FROM {stage} LIMIT 0")
        types = [description.type_code for description in cursor.description]
        with cursor.copy(f"COPY {stage} ({column_list}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)
        source = select(*(column(name) for name in names)).select_from(table(stage))
        statement = _on_conflict(
            postgresql.insert(target).from_select(list(names), source), target, conflict, update
        )
        if returning:
            statement = statement.returning(*returning)
        cursor.execute(str(statement.compile(dialect=dialect)))
        written = cursor.fetchall() if returning else []
        cursor.execute(f"DROP TABLE {stage}")
    return written


def _upsert_sqlite(session, target, names, rows, conflict, update) -> None:
    dialect = session.get_bind().dialect
    insert = sqlite.insert(target).values({name: bindparam(name) for name in names})
    compiled = _on_conflict(insert, target, conflict, update).compile(dialect=dialect)
    columns = list(zip(*rows, strict=True))
    position = {name: index for index, name in enumerate(names)}
    parameters = []
    for name in compiled.positiontup:
        values = columns[position[name]]
        convert = target.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if convert is not None:
            # A batch shares a handful of timestamps, statuses and flags: convert each once.
            converted: dict[Any, Any] = {None: None}
            values = [
                converted[value]
                if value in converted
                else converted.setdefault(value, convert(value))
                for value in values
            ]
        parameters.append(values)
    session.connection().exec_driver_sql(str(compiled), list(zip(*parameters, strict=True)))


def _one_of(session: Session, expression, values: Sequence):
    """`expression IN values` with one parameter, however many values.

    An IN list would be thousands of parameters that SQLAlchemy renders one by one on
    every execution; PostgreSQL takes an array, SQLite a JSON array it reads with
    json_each. Both then probe the index on `expression` once per value.
    """
    if session.get_bind().dialect.name == "postgresql":
        return expression == any_(
            bindparam(None, list(values), type_=postgresql.ARRAY(expression.type))
        )
    keys = func.json_each(bindparam(None, json.dumps(list(values)), type_=String()))
    return expression.in_(select(keys.table_valued("value").c.value))


def _lower_email_in(session: Session, emails: Sequence[str]):
    return _one_of(session, func.lower(Customer.email, type_=String()), emails)


def _customer_ids(session: Session, emails: Sequence[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in chunks(sorted({email.lower() for email in emails}), LOOKUP_CHUNK):
        query = select(Customer.id, Customer.email).where(_lower_email_in(session, chunk))
        ids.update((email.lower(), id_) for id_, email in session.connection().execute(query))
    return ids


# --- import jobs -------------------------------------------------------------------------


class ImportNotFound(LookupError):
    pass


def create_import(
    session: Session, kind: ImportKind | str, filename: str, content: bytes, user_id: int | None
) -> ImportJob:
    """Stores an upload that passed the file checks; rows are validated in the preview."""
    kind = ImportKind(kind)
    check_file(session, kind, content)
    job = ImportJob(
        kind=kind,
        status=ImportStatus.pending,
        filename=(filename or "upload.csv")[-255:],
        content=content,
        created_by_id=user_id,
        errors=[],
        failure="",
    )
    session.add(job)
    session.flush()
    return job


def get_import(session: Session, import_id: int) -> ImportJob:
    job = session.get(ImportJob, import_id)
    if job is None:
        raise ImportNotFound(import_id)
    return job


def recent_imports(session: Session, limit: int = 10) -> list[ImportJob]:
    query = (
        select(ImportJob)
        .options(defer(ImportJob.content), defer(ImportJob.errors))
        .order_by(ImportJob.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def discard_import(session: Session, import_id: int) -> bool:
    """Drops an upload that was previewed but never started; False when it was started."""
    job = get_import(session, import_id)
    if job.status is not ImportStatus.pending:
        return False
    session.delete(job)
    return True


def mark_queued(session: Session, import_id: int) -> bool:
    """pending or failed -> queued; False when the import is already queued, running or done.

    One conditional UPDATE, so of two clicks on "Import" (or two browser tabs) exactly one
    gets True and enqueues the job.
    """
    result = session.execute(
        update(ImportJob)
        .where(
            ImportJob.id == import_id,
            ImportJob.status.in_([ImportStatus.pending, ImportStatus.failed]),
        )
        .values(status=ImportStatus.queued, failure="", finished_at=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
