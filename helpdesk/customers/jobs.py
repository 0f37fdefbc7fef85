"""RQ jobs for the customers feature: running a confirmed CSV import."""

from __future__ import annotations

from rq import Queue, get_current_job

from helpdesk.config import Config
from helpdesk.customers import importer
from helpdesk.customers.models import ImportJob, ImportStatus
from helpdesk.db import session_scope, utcnow
from helpdesk.queue import IMPORT_QUEUE, enqueue, stop_requested

# Large imports on a busy PostgreSQL can take minutes; RQ's default of 3 minutes is too short.
IMPORT_TIMEOUT_SECONDS = 3600


def rq_job_id(import_id: int) -> str:
    """One RQ job id per import, so a second confirm cannot queue it twice."""
    return f"import-{import_id}"


def start_import(config: Config, import_id: int, timezone: str) -> None:
    """Enqueues an import that `importer.mark_queued` has just moved to queued."""
    enqueue(
        config,
        IMPORT_QUEUE,
        run_import,
        import_id,
        timezone,
        job_id=rq_job_id(import_id),
        job_timeout=IMPORT_TIMEOUT_SECONDS,
    )


def run_import(import_id: int, timezone: str = "UTC") -> None:
    """Validates and writes the stored file; safe to run again after a crash or retry.

    Each batch commits together with the progress counter, so a second run resumes after
    the last committed batch instead of writing those rows twice; a finished import is
    left alone.
    """
    with session_scope() as session:
        job = session.get(ImportJob, import_id)
        if job is None or job.status is ImportStatus.done:
            return
        job.status = ImportStatus.running
        job.failure = ""
    try:
        with session_scope() as session:
            _run(session, session.get(ImportJob, import_id), timezone)
    except _WorkerStopping:
        _continue_later(import_id, timezone)
    except importer.ImportFileError as exc:
        _finish_failed(import_id, "", [_file_error(exc)])
    except Exception as exc:
        _finish_failed(import_id, f"{type(exc).__name__}: {exc}", None)
        raise


def _run(session, job: ImportJob, timezone: str) -> None:
    plan = importer.plan_import(session, job.kind, job.content, timezone)
    job.total_rows = plan.total_rows
    job.error_count = plan.error_rows
    job.errors = [error.as_dict() for error in plan.errors]
    if job.processed_rows == 0:
        job.created_count = job.updated_count = 0
    session.commit()

    def record(batch: importer.BatchResult) -> None:
        job.processed_rows = batch.processed
        job.created_count += batch.created
        job.updated_count += batch.updated
        session.commit()
        if stop_requested() and batch.processed < plan.total_rows:
            raise _WorkerStopping

    importer.apply_plan(session, plan, start=job.processed_rows, after_batch=record)
    job.processed_rows = plan.total_rows
    job.status = ImportStatus.done
    job.finished_at = utcnow()


class _WorkerStopping(Exception):
    """The worker is stopping: the import ends after the batch it committed."""


def _continue_later(import_id: int, timezone: str) -> None:
    """A fresh job resumes after the last committed batch (on any worker, or on this one
    when it starts again)."""
    with session_scope() as session:
        job = session.get(ImportJob, import_id)
        job.status = ImportStatus.queued
        resume_from = job.processed_rows
    Queue(IMPORT_QUEUE, connection=get_current_job().connection).enqueue(
        run_import,
        import_id,
        timezone,
        job_id=f"{rq_job_id(import_id)}-from-{resume_from}",
        job_timeout=IMPORT_TIMEOUT_SECONDS,
    )


def _file_error(exc: importer.ImportFileError) -> dict:
    return importer.RowError(exc.line, "", exc.code, exc.params).as_dict()


def _finish_failed(import_id: int, failure: str, errors: list[dict] | None) -> None:
    with session_scope() as session:
        job = session.get(ImportJob, import_id)
        job.status = ImportStatus.failed
        job.failure = failure
        if errors is not None:
            job.errors = errors
            job.error_count = len(errors)
        job.finished_at = utcnow()
