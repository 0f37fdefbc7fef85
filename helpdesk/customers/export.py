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
    customer_statement,
    format_field_value,
    iter_customers,
    list_custom_fields,
    typed_value,
)

# Excel reads a UTF-8 file as the legacy code page (CP949 on Korean Windows) unless the
# file starts with a byte order mark.
BOM = "\ufeff"
ROWS_PER_CHUNK = 200
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection,
# OWASP); a leading apostrophe makes it text. Plain numbers such as -5 are left alone.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def safe_cell(value: str) -> str:
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def header(custom_fields: list[CustomField]) -> list[str]:
    return list(BUILTIN_COLUMNS) + [f.key for f in custom_fields]


def row(customer: Customer, custom_fields: list[CustomField]) -> list[str]:
    values = {v.field_id: typed_value(v) for v in customer.field_values}
    cells = [
        customer.email,
        customer.name,
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
    """The BOM and header, then the rows in chunks; raises FilterInvalid before yielding."""
    customer_statement(session, flt)  # validate the filter while an error can still be shown
    return _chunks(session, flt)


def _chunks(session: Session, flt: CustomerFilter) -> Iterator[str]:
    custom_fields = list_custom_fields(session)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(header(custom_fields))
    for count, customer in enumerate(iter_customers(session, flt), start=1):
        writer.writerow(row(customer, custom_fields))
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
