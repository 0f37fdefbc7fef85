"""Message-IDs and return addresses: reading them from header values, and telling ours apart.

A report is tied to what we sent through the original's Message-ID or the VERP return path
(`bounces+<token>@`) it was sent to."""

from __future__ import annotations

import re

_ID_IN_BRACKETS = re.compile(r"<([^<>]+)>")
# The shapes our mail carries: tickets' ids are made by tickets.threading.make_message_id,
# campaigns' by campaigns.sending (this package sits below both and cannot import them;
# tests/mail/test_bounce_rules.py holds the shapes to what those functions make).
_OUR_MESSAGE_ID = re.compile(
    r"^(?:helpdesk\.t\d{1,10}\.[0-9a-f]{16}\.[0-9a-f]{10}|campaign\.\d{1,10}\.[A-Za-z0-9]{1,64})@",
    re.IGNORECASE,
)
_VERP_ADDRESS = re.compile(r"(?<![\w.+-])bounces\+[A-Za-z0-9]{1,64}@", re.IGNORECASE)


def message_ids(value: str | None) -> list[str]:
    """Ids from a Message-ID/In-Reply-To/References value, without angle brackets."""
    if not value:
        return []
    ids = ["".join(found.split()) for found in _ID_IN_BRACKETS.findall(value)]
    if not ids:
        # Some mailers drop the brackets; take bare tokens that look like ids.
        ids = [token for token in value.split() if "@" in token]
    return [i for i in ids if i]


def is_our_message_id(message_id: str | None) -> bool:
    return bool(message_id) and _OUR_MESSAGE_ID.match(message_id) is not None


def has_verp_address(value: str | None) -> bool:
    """Whether a header value names one of our VERP return paths."""
    return bool(value) and _VERP_ADDRESS.search(value) is not None
