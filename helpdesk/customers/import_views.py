"""CSV import pages: upload, dry-run preview, confirm, live progress and the error report."""

from __future__ import annotations

import csv
import io

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectChoice, SelectField

from helpdesk.auth.models import Role
from helpdesk.auth.permissions import ALL_STAFF, roles_required
from helpdesk.customers import importer, jobs
from helpdesk.customers.models import ImportKind, ImportStatus
from helpdesk.web import db_session

bp = Blueprint("imports", __name__)

ERROR_PAGE_LIMIT = 100

ERROR_MESSAGES = {
    "empty": _l("The file is empty."),
    "binary": _l(
        "This is not a CSV text file (it contains binary data). In your spreadsheet, use "
        "“Save as” → CSV and upload that file."
    ),
    "encoding": _l("The file is neither UTF-8 nor CP949/EUC-KR text. Save it as CSV UTF-8."),
    "malformed": _l("The CSV cannot be read: %(detail)s"),
    "empty_header": _l("Column %(position)d of the header row has no name."),
    "duplicate_columns": _l("These columns appear twice in the header row: %(columns)s."),
    "no_rows": _l("The file has a header row but no data rows."),
    "missing_columns": _l(
        "The header row (the first line) is missing the required column(s): %(columns)s."
    ),
    "unknown_columns": _l(
        "Unknown column(s) in the header row: %(columns)s. Allowed: %(allowed)s."
    ),
    "too_many_values": _l("The row has %(count)d values but the header has %(expected)d columns."),
    "required": _l("A value is required."),
    "invalid_email": _l("“%(value)s” is not a valid email address: %(detail)s"),
    "duplicate_email": _l("This email address already appears on line %(first_line)d."),
    "too_long": _l("Longer than %(max)d characters."),
    "invalid_phone": _l("“%(value)s” is not a phone number."),
    "invalid_status": _l("“%(value)s” is not a subscription status. Use one of: %(allowed)s."),
    "resubscribe": _l(
        "This customer unsubscribed; an import cannot subscribe them again. "
        "They have to opt in themselves."
    ),
    "invalid_number": _l("“%(value)s” is not a number (at most 4 decimal places)."),
    "invalid_date": _l("“%(value)s” is not a date; use YYYY-MM-DD."),
    "invalid_boolean": _l("“%(value)s” is not yes/no; use true, false, yes, no, 1 or 0."),
    "invalid_choice": _l("“%(value)s” is not one of the choices: %(choices)s."),
    "unknown_customer": _l("No customer has the email address %(value)s. Import customers first."),
    "duplicate_purchase": _l("The same order and product already appear on line %(first_line)d."),
    "invalid_quantity": _l("“%(value)s” is not a whole number of at least 1."),
    "invalid_amount": _l("“%(value)s” is not an amount of 0 or more with at most 2 decimals."),
    "invalid_currency": _l("“%(value)s” is not a 3-letter currency code such as KRW or USD."),
    "invalid_datetime": _l(
        "“%(value)s” is not a date (2024-05-31) or date and time (2024-05-31 14:30)."
    ),
}

ENCODING_LABELS = {
    "utf-8": _l("UTF-8"),
    "utf-8-sig": _l("UTF-8 with BOM"),
    "cp949": _l("CP949 / EUC-KR (Korean Excel)"),
}
DELIMITER_LABELS = {",": _l("comma"), ";": _l("semicolon"), "\t": _l("tab")}
KIND_LABELS = {ImportKind.customers: _l("Customers"), ImportKind.purchases: _l("Purchases")}
STATUS_LABELS = {
    ImportStatus.pending: _l("Awaiting confirmation"),
    ImportStatus.queued: _l("Waiting"),
    ImportStatus.running: _l("Running"),
    ImportStatus.done: _l("Done"),
    ImportStatus.failed: _l("Failed"),
}


KIND_VALUES = {kind.value for kind in ImportKind}


class ImportForm(FlaskForm):
    kind = SelectField(
        _l("What the file contains"),
        choices=[SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()],
    )
    file = FileField(
        _l("CSV file"), validators=[FileRequired(message=_l("Choose a CSV file to upload."))]
    )


def describe_error(error: dict) -> str:
    template = ERROR_MESSAGES.get(error.get("code", ""))
    if template is None:
        return error.get("code", "")
    try:
        return str(template) % error.get("params", {})
    except (KeyError, TypeError, ValueError):
        return str(template)


@bp.context_processor
def import_helpers():
    return {
        "describe_error": describe_error,
        "encoding_labels": ENCODING_LABELS,
        "delimiter_labels": DELIMITER_LABELS,
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "error_page_limit": ERROR_PAGE_LIMIT,
    }


def _config():
    return current_app.config["HELPDESK"]


def _timezone() -> str:
    return current_user.timezone or _config().default_timezone


def _owner_filter() -> int | None:
    """Staff see their own imports; an admin sees everyone's."""
    return None if current_user.role == Role.admin else current_user.id


def _get_job(import_id: int):
    try:
        return importer.get_import(db_session(), import_id, owner_id=_owner_filter())
    except importer.ImportNotFound:
        abort(404)


def _render_new(form: ImportForm, status: int = 200):
    session = db_session()
    return (
        render_template(
            "customers/import_new.html",
            form=form,
            field_keys=list(importer.custom_field_keys(session)),
            recent=importer.recent_imports(session, owner_id=_owner_filter()),
            max_mb=_config().import_max_bytes / 1024 / 1024,
        ),
        status,
    )


def _too_large_message() -> str:
    return _(
        "The file is larger than the limit of %(size).0f MB. Split it into smaller files.",
        size=_config().import_max_bytes / 1024 / 1024,
    )


@bp.errorhandler(413)
def upload_too_large(_error):
    # The request body is refused before any view runs; show the form again, not a bare page.
    form = ImportForm(formdata=None)
    form.file.errors = [_too_large_message()]
    return _render_new(form, 413)


@bp.route("/customers/import", methods=["GET", "POST"])
@roles_required(*ALL_STAFF)
def new():
    # ?kind=purchases preselects the kind, for the link on the customer list.
    kind = request.args.get("kind")
    form = ImportForm(kind=kind if kind in KIND_VALUES else ImportKind.customers.value)
    if not form.validate_on_submit():
        return _render_new(form, 400 if form.is_submitted() else 200)
    content = form.file.data.read()
    if len(content) > _config().import_max_bytes:
        form.file.errors.append(_too_large_message())
        return _render_new(form, 413)
    session = db_session()
    try:
        job = importer.create_import(
            session, form.kind.data, form.file.data.filename, content, current_user.id
        )
    except importer.ImportFileError as exc:
        session.rollback()
        error = {"line": exc.line, "code": exc.code, "params": exc.params}
        form.file.errors.append(
            _("Line %(line)d: %(message)s", line=exc.line, message=describe_error(error))
        )
        return _render_new(form, 400)
    session.commit()
    return redirect(url_for("imports.preview", import_id=job.id))


@bp.get("/customers/import/<int:import_id>/preview")
@roles_required(*ALL_STAFF)
def preview(import_id: int):
    job = _get_job(import_id)
    if job.status is not ImportStatus.pending:
        return redirect(url_for("imports.show", import_id=job.id))
    session = db_session()
    file_error = None
    plan = None
    try:
        plan = importer.plan_import(session, job.kind, job.content, _timezone())
    except importer.ImportFileError as exc:
        file_error = {"line": exc.line, "column": "", "code": exc.code, "params": exc.params}
    session.rollback()
    errors = [error.as_dict() for error in plan.errors] if plan else []
    return render_template(
        "customers/import_preview.html", job=job, plan=plan, errors=errors, file_error=file_error
    )


@bp.post("/customers/import/<int:import_id>/start")
@roles_required(*ALL_STAFF)
def start(import_id: int):
    session = db_session()
    job = _get_job(import_id)
    # Only the request that moves the import to queued enqueues it; a second click finds
    # it queued already. The status commits after the enqueue, so an unreachable Redis
    # leaves the import startable; a worker that is quicker than the commit waits for
    # the row (its own status update needs it) and then runs the import as usual.
    if importer.mark_queued(session, job.id):
        jobs.start_import(_config(), job.id, _timezone())
        session.commit()
    return redirect(url_for("imports.show", import_id=job.id))


@bp.post("/customers/import/<int:import_id>/discard")
@roles_required(*ALL_STAFF)
def discard(import_id: int):
    session = db_session()
    job = _get_job(import_id)
    if not importer.discard_import(session, job.id):
        flash(_("This import has already started; it cannot be discarded."), "error")
        return redirect(url_for("imports.show", import_id=job.id))
    session.commit()
    flash(_("The upload was discarded; nothing was imported."), "info")
    return redirect(url_for("imports.new"))


@bp.get("/customers/import/<int:import_id>")
@roles_required(*ALL_STAFF)
def show(import_id: int):
    job = _get_job(import_id)
    if job.status is ImportStatus.pending:
        return redirect(url_for("imports.preview", import_id=job.id))
    return render_template("customers/import_show.html", job=job)


@bp.get("/customers/import/<int:import_id>/progress")
@roles_required(*ALL_STAFF)
def progress(import_id: int):
    return render_template("customers/import_progress.html", job=_get_job(import_id))


@bp.get("/customers/import/<int:import_id>/errors.csv")
@roles_required(*ALL_STAFF)
def errors_csv(import_id: int):
    job = _get_job(import_id)
    errors = job.errors
    # Until the worker has planned the import, the report comes from a fresh dry run.
    if job.status in (ImportStatus.pending, ImportStatus.queued):
        try:
            plan = importer.plan_import(db_session(), job.kind, job.content, _timezone())
            errors = [error.as_dict() for error in plan.errors]
        except importer.ImportFileError as exc:
            errors = [importer.RowError(exc.line, "", exc.code, exc.params).as_dict()]
        db_session().rollback()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("line"), _("column"), _("error")])
    for error in errors:
        writer.writerow([error["line"], error["column"], describe_error(error)])
    # The BOM makes Excel open the report as UTF-8, so Korean text stays readable.
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="import-{job.id}-errors.csv"',
        },
    )
