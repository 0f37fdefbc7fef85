"""Reading an uploaded CSV file: the encoding (UTF-8 or CP949), the delimiter, and the
header and records with the line each starts on."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

ENCODINGS = ("utf-8-sig", "cp949")
DELIMITERS = (",", ";", "\t")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class ImportFileError(ValueError):
    """The whole file is refused (encoding, header, not a CSV); nothing is imported."""

    def __init__(self, code: str, line: int = 1, **params: Any) -> None:
        super().__init__(f"{code} at line {line}: {params}")
        self.code = code
        self.line = line
        self.params = params


@dataclass(frozen=True)
class CsvFile:
    encoding: str
    delimiter: str
    header_line: int
    columns: list[str]
    records: list[tuple[int, list[str]]]


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
