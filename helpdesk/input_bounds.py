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
    _check_depth(value)
    if _may_hold_nul(text, kwargs.get("strict", True)):
        _check_nul(value)
    return value


def _may_hold_nul(text: str | bytes, strict: bool) -> bool:
    """Strict JSON has no raw control characters in its strings, so a NUL in the parsed
    value was written as the escape \\u0000; without one in the text, there is no need
    to look through every string (a thousand orders of an API batch)."""
    if isinstance(text, bytes):
        if json.detect_encoding(text) not in ("utf-8", "utf-8-sig"):
            return True
        return not strict or b"\\u0000" in text
    return not strict or "\\u0000" in text


def _check_depth(value: Any) -> None:
    """Walks the containers of the parsed value level by level, without recursion, since
    the depth is what is checked; a container's keys and items lie one level below it."""
    level = [value] if isinstance(value, dict | list) else []
    depth = 1
    while level:
        below = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            if children and depth == MAX_DEPTH:
                raise UnacceptableJSON(f"JSON nested deeper than {MAX_DEPTH} levels")
            below += [child for child in children if isinstance(child, dict | list)]
        level = below
        depth += 1


def _check_nul(value: Any) -> None:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise UnacceptableJSON("JSON text contains a NUL character")
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
