"""Ticket events in the viewer's language.

Events are stored as English sentences with raw keys ("Status waiting → open by Kim."),
which reports match on; the ticket page reads them back into a translated sentence with
the status and priority labels the rest of the page uses. A sentence of an unknown form
is shown as stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext as _

from helpdesk.tickets.forms import PRIORITY_LABELS, STATUS_LABELS
from helpdesk.tickets.models import Priority, TicketStatus


# The patterns below match only these keys, so every captured key has a label.
def _status(key: str) -> str:
    return str(STATUS_LABELS[TicketStatus(key)])


def _priority(key: str) -> str:
    return str(PRIORITY_LABELS[Priority(key)])


_STATUS = "|".join(TicketStatus)
_PRIORITY = "|".join(Priority)

# (pattern of the stored English sentence, its translation from the pattern's groups)
_FORMS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(rf"Status ({_STATUS}) → ({_STATUS}) by (.+)\.", re.S),
        lambda m: _(
            "Status %(old)s → %(new)s by %(name)s.",
            old=_status(m[1]),
            new=_status(m[2]),
            name=m[3],
        ),
    ),
    (
        re.compile(rf"Priority ({_PRIORITY}) → ({_PRIORITY}) by (.+)\.", re.S),
        lambda m: _(
            "Priority %(old)s → %(new)s by %(name)s.",
            old=_priority(m[1]),
            new=_priority(m[2]),
            name=m[3],
        ),
    ),
    (
        re.compile(rf"Reopened by a customer reply \(was ({_STATUS})\)\.", re.S),
        lambda m: _("Reopened by a customer reply (was %(status)s).", status=_status(m[1])),
    ),
    (
        re.compile(r"Assigned to (.+) \(bulk action\)\.", re.S),
        lambda m: _("Assigned to %(name)s (bulk action).", name=m[1]),
    ),
    (
        re.compile(r"Closed \(bulk action\)\.", re.S),
        lambda m: _("Closed (bulk action)."),
    ),
    (
        re.compile(r"Assigned to (.+) by (.+)\.", re.S),
        lambda m: _("Assigned to %(agent)s by %(name)s.", agent=m[1], name=m[2]),
    ),
    (re.compile(r"Taken by (.+)\.", re.S), lambda m: _("Taken by %(name)s.", name=m[1])),
    (
        re.compile(r"Unassigned by (.+)\.", re.S),
        lambda m: _("Unassigned by %(name)s.", name=m[1]),
    ),
    (
        re.compile(r"Ticket #(\d+) merged into this one by (.+)\.", re.S),
        lambda m: _("Ticket #%(id)s merged into this one by %(name)s.", id=m[1], name=m[2]),
    ),
    (
        re.compile(r"Merged into ticket #(\d+) by (.+)\.", re.S),
        lambda m: _("Merged into ticket #%(id)s by %(name)s.", id=m[1], name=m[2]),
    ),
]


def event_text(stored: str) -> str:
    """The stored event sentence, translated when it has one of the known forms."""
    for pattern, translate in _FORMS:
        match = pattern.fullmatch(stored)
        if match:
            return translate(match)
    return stored
