"""The header row: the columns a customers or purchases file may have, other spellings of the
name part headers, and the file-level checks the upload request runs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.customers.importer.files import CsvFile, ImportFileError, read_csv
from helpdesk.customers.models import CustomField, ImportKind
from helpdesk.customers.service import BUILTIN_COLUMNS

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
PURCHASE_COLUMNS = ("email", "product", "quantity", "amount", "currency", "date", "order_ref")
PURCHASE_REQUIRED = ("email", "product", "amount", "currency", "date")


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
