"""Job functions the worker tests enqueue; worker.py imports them by dotted name."""

from __future__ import annotations

from rq import get_current_job
from sqlalchemy import func, select

from helpdesk.customers.models import Tag
from helpdesk.db import session_scope


def add_tag(name: str) -> None:
    with session_scope() as session:
        session.add(Tag(name=name))


def record_run(label: str) -> None:
    get_current_job().connection.rpush("tests:ops:runs", label)


def count_tags_repeatedly(name: str) -> int:
    """The same query often enough that psycopg prepares it on the server, committed: what
    every campaign slice does, and what broke the second job of a forking worker."""
    with session_scope() as session:
        for _ in range(8):
            count = session.scalar(select(func.count()).select_from(Tag).where(Tag.name == name))
    get_current_job().connection.rpush("tests:ops:runs", name)
    return count
