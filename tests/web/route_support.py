"""Paths for every rule of the url_map: from rows a `world` fixture made, or with
hostile values in place of the arguments."""

from __future__ import annotations

import re

HUGE = str(2**64 + 7)

_ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def path_for(rule, values: dict, hostile: str | None = None) -> str:
    """The rule's path with each argument from `values`, or `hostile` (a huge number
    for int arguments, the given segment for the others)."""

    def argument(match: re.Match) -> str:
        converter, name = match.group(1) or "default", match.group(2)
        if hostile is None or converter == "any":
            return str(values[name])
        return HUGE if converter == "int" else hostile

    return _ARGUMENT.sub(argument, rule.rule)
