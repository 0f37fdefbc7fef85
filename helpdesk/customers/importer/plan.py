"""What validating an import file yields: the records of the right width as columns of
cells, the valid rows (customers or purchases, with what is stored for them), the errors
of the refused rows by line, and the figures of a written batch."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from helpdesk.customers.export import unguard_cell
from helpdesk.customers.importer.files import CsvFile
from helpdesk.customers.models import ImportKind, SubscriptionStatus
from helpdesk.customers.names import NameParts, resolve_name_parts, split_name
from helpdesk.normalize import InvalidEmail

PREVIEW_ROWS = 10
MAX_LENGTHS = {
    "name": 200,
    "given_name": 200,
    "family_name": 200,
    "company": 200,
    "product": 200,
    "order_ref": 100,
}


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "code": self.code, "params": self.params}


def _detail(exc: InvalidEmail) -> str:
    return str(exc).rpartition(": ")[2] or str(exc)


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

    @classmethod
    def of_file(
        cls,
        kind: ImportKind,
        csv_file: CsvFile,
        rows: list[CustomerRow] | list[PurchaseRow],
        errors: list[RowError],
    ) -> ImportPlan:
        """The plan for a checked file's valid rows, its errors in line order."""
        return cls(
            kind=kind,
            encoding=csv_file.encoding,
            delimiter=csv_file.delimiter,
            columns=csv_file.columns,
            total_rows=len(csv_file.records),
            rows=rows,
            errors=sorted(errors, key=lambda error: error.line),
        )


@dataclass(frozen=True)
class BatchResult:
    processed: int
    created: int
    updated: int


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
