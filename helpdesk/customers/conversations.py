"""The customer's tickets on their page, listed by the tickets package.

Tickets build on customers, so customers cannot import them; helpdesk.tickets registers
the function that lists a customer's tickets when it is imported, as it registers its
timeline sources.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from helpdesk.text import LazyText


@dataclass(frozen=True)
class Conversation:
    id: int
    subject: str
    status: str  # the status key, for styling
    status_label: str | LazyText
    is_open: bool
    channel_label: str | LazyText
    assignee_name: str | None
    last_activity: datetime
    url: str | None


@dataclass(frozen=True)
class Conversations:
    shown: list[Conversation]
    total: int


Lister = Callable[[Session, int, int], Conversations]
_lister: Lister | None = None


def register_conversations(fn: Lister) -> Lister:
    """Set (or replace, so re-imports stay harmless) the function that lists them."""
    global _lister
    _lister = fn
    return fn


def customer_conversations(session: Session, customer_id: int, limit: int) -> Conversations:
    """Open tickets first, then the most recently active; none while tickets are not
    registered."""
    if _lister is None:
        return Conversations([], 0)
    return _lister(session, customer_id, limit)
