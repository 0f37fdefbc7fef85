"""CSV export of a filtered customer list, produced piece by piece for streaming.

The columns are the ones the CSV importer reads, so an export can be edited and
imported back.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from sqlalchemy.orm import Session

from helpdesk.customers.models import Customer, CustomField
from helpdesk.customers.service import (
    BUILTIN_COLUMNS,
    CustomerFilter,
    customers_by_ids,
    format_field_value,
    list_custom_fields,
    matching_ids,
    typed_value,
)
from helpdesk.db import session_scope

# Excel reads a UTF-8 file as the legacy code page (CP949 on Korean Windows) unless the
# file starts with a byte order mark.
BOM = "\ufeff"
BATCH_SIZE = 500
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection,
# OWASP); a leading apostrophe makes it text. Plain numbers such as -5 are left alone.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def safe_cell(value: str) -> str:
    # A value that itself starts with an apostrophe gets one more, so that unguard_cell
    # can tell the two apart and an export imports back unchanged.
    if value.startswith("'") or (
        value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value)
    ):
        return "'" + value
    return value


def unguard_cell(value: str) -> str:
    """The inverse of safe_cell, applied by the CSV importer to every cell."""
    if value.startswith("'") and value[1:].startswith((*_FORMULA_START, "'")):
        return value[1:]
    return value


def header(custom_fields: list[CustomField]) -> list[str]:
    return list(BUILTIN_COLUMNS) + [f.key for f in custom_fields]


def row(customer: Customer, custom_fields: list[CustomField]) -> list[str]:
    values = {v.field_id: typed_value(v) for v in customer.field_values}
    cells = [
        customer.email,
        customer.name,
        customer.given_name,
        customer.family_name,
        customer.phone,
        customer.company,
        ", ".join(tag.name for tag in customer.tags),
        customer.subscription_status.value,
        customer.consent_at.isoformat() if customer.consent_at else "",
        customer.consent_source,
        customer.unsubscribed_at.isoformat() if customer.unsubscribed_at else "",
        customer.created_at.isoformat(),
    ] + [format_field_value(f, values.get(f.id)) for f in custom_fields]
    return [safe_cell(cell) for cell in cells]


def export_csv(session: Session, flt: CustomerFilter) -> Iterator[str]:
    """The BOM and header, then the rows in chunks.

    The filter is checked and the matching ids are read here, so a bad filter raises
    FilterInvalid before anything is sent. The rows are then read in batches, each in its
    own short transaction: a slow download must not hold the database (on SQLite every
    transaction takes the write lock) for its whole length.
    """
    ids = matching_ids(session, flt)
    field_ids = [f.id for f in list_custom_fields(session)]
    return _chunks(ids, field_ids)


def _chunks(ids: list[int], field_ids: list[int]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    custom_fields: list[CustomField] | None = None
    for start in range(0, max(len(ids), 1), BATCH_SIZE):
        with session_scope() as session:
            if custom_fields is None:
                by_id = {f.id: f for f in list_custom_fields(session)}
                custom_fields = [by_id[i] for i in field_ids if i in by_id]
                writer.writerow(header(custom_fields))
            for customer in customers_by_ids(session, ids[start : start + BATCH_SIZE]):
                writer.writerow(row(customer, custom_fields))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
