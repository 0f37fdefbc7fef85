"""Helpers for the segment tests: a fixed clock and the set of matching addresses."""

from __future__ import annotations

from datetime import UTC, datetime

from helpdesk.campaigns.segments import segment_customer_ids_query
from helpdesk.customers.models import Customer

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def one(field: str, op: str, value=None) -> dict:
    """Rules of a single condition."""
    condition = {"field": field, "op": op}
    if value is not None:
        condition["value"] = value
    return {"match": "all", "groups": [{"match": "all", "conditions": [condition]}]}


def matching(session, rules, *, sendable: bool = True) -> set[str]:
    ids = segment_customer_ids_query(session, rules, sendable=sendable, now=NOW)
    return set(
        session.scalars(
            Customer.__table__.select()
            .with_only_columns(Customer.email)
            .where(Customer.id.in_(ids))
        )
    )
