"""Numbers and JSON from outside (requests, forms, uploads) read within what the database
and the code can take: an id past the column's range is no id at all, and JSON nested
deep enough to exhaust the stack, or holding a NUL character (PostgreSQL refuses it in
text), is a ValueError like any other unreadable JSON."""

from __future__ import annotations

import json
from typing import Any

# Every id column is an INTEGER; on PostgreSQL that is 32 bits, and a bigger number in a
# query fails in the driver rather than finding nothing.
MAX_ID = 2**31 - 1

# Real payloads (segment rules, presence heartbeats) nest a few levels.
MAX_DEPTH = 32


def bounded_int(raw: Any, *, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """The whole number in a query, form or JSON value when it lies in [minimum, maximum];
    None for anything else (missing, not a number, a list, out of range)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str):
        text = raw.strip()
        digits = text.removeprefix("-")
        # Refused before int() parses it: a long digit string costs time, and int()
        # takes non-ASCII digits and underscores that no id is written with.
        longest = len(str(max(abs(minimum), abs(maximum))))
        if not (text.isascii() and digits.isdigit()) or len(digits) > longest:
            return None
        value = int(text)
    else:
        return None
    return value if minimum <= value <= maximum else None


class UnacceptableJSON(ValueError):
    """Valid JSON that we refuse to take in."""


def loads_json(text: str | bytes, **kwargs: Any) -> Any:
    """`json.loads`, raising json.JSONDecodeError or UnacceptableJSON (both ValueError)."""
    try:
        value = json.loads(text, **kwargs)
    except RecursionError:
        raise UnacceptableJSON(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    _check(value)
    return value


def _check(value: Any) -> None:
    """Walks the parsed value without recursion, since the depth is what is checked."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise UnacceptableJSON(f"JSON nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, str):
            if "\x00" in item:
                raise UnacceptableJSON("JSON text contains a NUL character")
        elif isinstance(item, dict):
            pending.extend((key, depth + 1) for key in item)
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
