"""The two steps of an import: plan (validate the whole file, write nothing) and apply
(write the valid rows in batches, one transaction each, resumable)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy.orm import Session

from helpdesk.customers.importer.customers import _apply_customers, plan_customers
from helpdesk.customers.importer.plan import BatchResult, ImportPlan
from helpdesk.customers.importer.purchases import _apply_purchases, plan_purchases
from helpdesk.customers.models import ImportKind

# Rows per transaction: the progress bar moves once per batch, and each batch costs a
# commit and a few statements, which stay small next to writing 5,000 rows.
BATCH_SIZE = 5000


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Pauses Python's cycle collector while a file's rows are built.

    Every few hundred new containers it would walk all live ones, and the hundreds of
    thousands of cells, rows and dicts of a large file are all live, so it would take
    more time than the import itself. Reference counting still frees memory meanwhile.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def plan_import(
    session: Session, kind: ImportKind | str, content: bytes, timezone: str = "UTC"
) -> ImportPlan:
    """Validate the whole file against the database; writes nothing (the dry run)."""
    with _without_cycle_collection():
        if ImportKind(kind) is ImportKind.customers:
            return plan_customers(session, content)
        return plan_purchases(session, content, timezone)


def apply_plan(
    session: Session,
    plan: ImportPlan,
    *,
    start: int = 0,
    batch_size: int = BATCH_SIZE,
    after_batch: Callable[[BatchResult], None] | None = None,
) -> BatchResult:
    """Writes the plan's valid rows from file position `start` on, one batch at a time.

    `after_batch` runs after each batch is written and before the next; the import job
    records progress and commits there, so a batch and its progress are one transaction
    and a re-run can resume at the first row not yet committed.
    """
    rows = [row for row in plan.rows if row.position >= start]
    created = updated = 0
    tag_ids: dict[str, int] = {}
    for begin in range(0, len(rows), batch_size):
        with _without_cycle_collection():
            batch_created, batch_updated = _apply_batch(
                session, plan.kind, rows[begin : begin + batch_size], tag_ids
            )
        created += batch_created
        updated += batch_updated
        if after_batch is not None:
            last = begin + batch_size >= len(rows)
            processed = plan.total_rows if last else rows[begin + batch_size - 1].position + 1
            after_batch(BatchResult(processed, batch_created, batch_updated))
    return BatchResult(plan.total_rows, created, updated)


def _apply_batch(
    session: Session, kind: ImportKind, batch: Sequence, tag_ids: dict[str, int]
) -> tuple[int, int]:
    if kind is ImportKind.customers:
        return _apply_customers(session, batch, tag_ids)
    return _apply_purchases(session, batch)
