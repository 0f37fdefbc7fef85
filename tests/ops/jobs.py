"""Job functions the worker tests enqueue; worker.py imports them by dotted name."""

from __future__ import annotations

from rq import get_current_job

from helpdesk.customers.models import Tag
from helpdesk.db import session_scope


def add_tag(name: str) -> None:
    with session_scope() as session:
        session.add(Tag(name=name))


def record_run(label: str) -> None:
    get_current_job().connection.rpush("tests:ops:runs", label)
