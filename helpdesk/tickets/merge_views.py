"""Merging with a picker and a confirmation, and undoing a merge. The merge itself is
posted to the ticket page's `tickets.merge`."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from helpdesk.auth.permissions import SUPPORT, roles_required
from helpdesk.tickets import merge_picker, merge_undo, service
from helpdesk.tickets.forms import STATUS_LABELS, ActionForm, MergeForm
from helpdesk.tickets.models import TicketMerge
from helpdesk.web import bounded_int, db_session

bp = Blueprint("ticket_merges", __name__)


def _summary(ticket_id: int) -> merge_picker.TicketSummary:
    try:
        return merge_picker.ticket_summary(db_session(), ticket_id)
    except service.TicketNotFound:
        abort(404)


@bp.get("/tickets/<int:ticket_id>/merge")
@roles_required(*SUPPORT)
def pick(ticket_id: int):
    """The picker (`q`) and, once a ticket is chosen (`into`), both tickets side by side."""
    source = _summary(ticket_id)
    query = request.args.get("q", "")
    into_raw = request.args.get("into", "").strip().lstrip("#")
    target, error, status = None, None, 200
    if into_raw:
        into = bounded_int(into_raw, minimum=1)
        if into is None:
            error = _("The ticket number must be a number.")
        elif into == ticket_id:
            error = _("A ticket cannot be merged into itself.")
        else:
            try:
                target = merge_picker.ticket_summary(db_session(), into)
            except service.TicketNotFound:
                error = _("Ticket #%(id)d does not exist.", id=into)
        status = 400 if error else 200
    options = merge_picker.merge_options(db_session(), ticket_id, query)
    return (
        render_template(
            "tickets/merge.html",
            source=source,
            target=target,
            options=options,
            query=query,
            error=error,
            merge_form=MergeForm(formdata=None, target_id=str(target.ticket.id) if target else ""),
            status_labels=STATUS_LABELS,
        ),
        status,
    )


@bp.get("/tickets/<int:ticket_id>/merge/options")
@roles_required(*SUPPORT)
def options(ticket_id: int):
    """The picker's list as JSON, for filtering while the agent types."""
    _summary(ticket_id)
    found = merge_picker.merge_options(db_session(), ticket_id, request.args.get("q", ""))
    return jsonify(
        options=[
            {
                "id": option.ticket.id,
                "subject": option.ticket.subject,
                "customer": option.customer.name or option.customer.email,
                "status": str(STATUS_LABELS[option.ticket.status]),
                "likely": option.likely,
                "reasons": [str(reason) for reason in option.reasons],
                "url": url_for(".pick", ticket_id=ticket_id, into=option.ticket.id),
            }
            for option in found
        ]
    )


@bp.post("/tickets/merges/<int:merge_id>/undo")
@roles_required(*SUPPORT)
def undo(merge_id: int):
    ActionForm()
    session = db_session()
    record = session.get(TicketMerge, merge_id)
    if record is None:
        abort(404)
    source_id, target_id = record.source_id, record.target_id
    try:
        merge_undo.undo_merge(session, merge_id, current_user.id)
    except service.TicketActionError as exc:
        session.rollback()
        flash(str(exc.message), "error")
        return redirect(url_for("tickets.show", ticket_id=target_id))
    session.commit()
    flash(_("Merge undone: ticket #%(source)d is on its own again.", source=source_id), "success")
    return redirect(url_for("tickets.show", ticket_id=source_id))
