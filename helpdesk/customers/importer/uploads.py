"""Uploaded import files as stored jobs: created once the file checks pass, listed, discarded
before they start, and queued at most once."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, defer

from helpdesk.customers.importer.headers import check_file
from helpdesk.customers.models import ImportJob, ImportKind, ImportStatus


class ImportNotFound(LookupError):
    pass


def create_import(
    session: Session, kind: ImportKind | str, filename: str, content: bytes, user_id: int | None
) -> ImportJob:
    """Stores an upload that passed the file checks; rows are validated in the preview."""
    kind = ImportKind(kind)
    check_file(session, kind, content)
    job = ImportJob(
        kind=kind,
        status=ImportStatus.pending,
        filename=(filename or "upload.csv")[-255:],
        content=content,
        created_by_id=user_id,
        errors=[],
        failure="",
    )
    session.add(job)
    session.flush()
    return job


def get_import(session: Session, import_id: int, owner_id: int | None = None) -> ImportJob:
    """The import; with `owner_id`, only one that user uploaded (another's is not found).

    An upload holds a whole file of customer data and its preview shows every row, so
    only the person who uploaded it (and an admin, who passes no owner) may look at it,
    start it or discard it.
    """
    job = session.get(ImportJob, import_id)
    if job is None or (owner_id is not None and job.created_by_id != owner_id):
        raise ImportNotFound(import_id)
    return job


def recent_imports(
    session: Session, limit: int = 10, owner_id: int | None = None
) -> list[ImportJob]:
    """The newest imports; with `owner_id`, only that user's."""
    query = (
        select(ImportJob)
        .options(defer(ImportJob.content), defer(ImportJob.errors))
        .order_by(ImportJob.id.desc())
        .limit(limit)
    )
    if owner_id is not None:
        query = query.where(ImportJob.created_by_id == owner_id)
    return list(session.scalars(query))


def discard_import(session: Session, import_id: int) -> bool:
    """Drops an upload that was previewed but never started; False when it was started."""
    job = get_import(session, import_id)
    if job.status is not ImportStatus.pending:
        return False
    session.delete(job)
    return True


def mark_queued(session: Session, import_id: int) -> bool:
    """pending or failed -> queued; False when the import is already queued, running or done.

    One conditional UPDATE, so of two clicks on "Import" (or two browser tabs) exactly one
    gets True and enqueues the job.
    """
    result = session.execute(
        update(ImportJob)
        .where(
            ImportJob.id == import_id,
            ImportJob.status.in_([ImportStatus.pending, ImportStatus.failed]),
        )
        .values(status=ImportStatus.queued, failure="", finished_at=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
