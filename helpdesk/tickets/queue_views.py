"""The agents' ticket lists: views with live counts, filters, search, bulk actions."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from helpdesk import nav
from helpdesk.auth.models import Role
from helpdesk.auth.permissions import SUPPORT, roles_required
from helpdesk.db import utcnow
from helpdesk.tickets import assignment, bulk_actions, queue_search, queues
from helpdesk.tickets.models import Priority, TicketStatus
from helpdesk.web import Page, bounded_int, db_session, page_number, safe_redirect_target

bp = Blueprint("queues", __name__)

PAGE_SIZE = 25
# A poll asks again for a little before the last change it saw: a transaction that
# committed late with an earlier timestamp is still picked up (the page dedupes by id).
POLL_OVERLAP = timedelta(seconds=30)
FILTER_ARGS = ("view", "mailbox", "assignee", "status", "priority", "tag", "customer", "q", "sort")

VIEW_LABELS = {
    queues.View.unassigned: _l("Unassigned"),
    queues.View.mine: _l("Mine"),
    queues.View.open: _l("All open"),
    queues.View.waiting: _l("Waiting on customer"),
    queues.View.overdue: _l("Overdue"),
    queues.View.done: _l("Resolved/Closed"),
    queues.View.all: _l("All tickets"),
}
# What an empty view means, so that an empty Overdue reads as good news.
VIEW_EMPTY_TEXTS = {
    queues.View.unassigned: _l(
        "Every open ticket has an agent. New tickets appear here as they arrive."
    ),
    queues.View.mine: _l("No open tickets are assigned to you."),
    queues.View.open: _l("No open tickets: everything is answered."),
    queues.View.waiting: _l("No tickets are waiting for a customer's answer."),
    queues.View.overdue: _l("No ticket is past its response target."),
    queues.View.done: _l("Resolved and closed tickets appear here."),
    queues.View.all: _l("Tickets appear here as customers write in."),
}
STATUS_LABELS = {
    TicketStatus.new: _l("New"),
    TicketStatus.open: _l("Open"),
    TicketStatus.waiting: _l("Waiting on customer"),
    TicketStatus.resolved: _l("Resolved"),
    TicketStatus.closed: _l("Closed"),
}
PRIORITY_LABELS = {
    Priority.low: _l("Low"),
    Priority.normal: _l("Normal"),
    Priority.high: _l("High"),
    Priority.urgent: _l("Urgent"),
}
SORT_LABELS = {
    "-updated": _l("Recently updated"),
    "updated": _l("Least recently updated"),
    "-created": _l("Newest first"),
    "created": _l("Oldest first"),
    "due": _l("Due soonest"),
    "priority": _l("Highest priority"),
}


def _nav_counts() -> list[nav.NavCount]:
    counts = queues.nav_counts(db_session(), current_user.id)
    return [nav.NavCount(view.value, str(VIEW_LABELS[view]), n) for view, n in counts.items()]


nav.add_main(
    "queues.index",
    _l("Tickets"),
    [Role.admin, Role.agent],
    order=10,
    counts=_nav_counts,
    counts_endpoint="queues.counts",
)


@bp.app_context_processor
def queue_helpers():
    def ticket_url(ticket_id: int) -> str | None:
        # The ticket page is its own feature; lists link to it when it is installed.
        if "tickets.show" in current_app.view_functions:
            return url_for("tickets.show", ticket_id=ticket_id)
        return None

    # Translated once per page rather than once per row.
    return {
        "ticket_url": ticket_url,
        "status_labels": {k: str(v) for k, v in STATUS_LABELS.items()},
        "priority_labels": {k: str(v) for k, v in PRIORITY_LABELS.items()},
    }


def _int_arg(name: str, errors: dict[str, str]) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    number = bounded_int(raw)
    if number is None:
        errors[name] = _("Choose a value from the list.")
    return number


def _enum_arg(name: str, enum_cls, errors: dict[str, str], default=None):
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        return enum_cls(raw)
    except ValueError:
        errors[name] = _("Choose a value from the list.")
        return default


def _filter_from_request() -> tuple[queues.QueueFilter, dict[str, str]]:
    errors: dict[str, str] = {}
    view = _enum_arg("view", queues.View, errors, queues.View.unassigned)
    raw_sort = request.args.get("sort", "-updated")
    if raw_sort not in SORT_LABELS:
        errors["sort"] = _("Choose a value from the list.")
        raw_sort = "-updated"
    sort_key = raw_sort.lstrip("-")
    # Due and priority read naturally as "most urgent first" without a minus.
    descending = raw_sort.startswith("-")
    q = request.args.get("q", "")
    if len(q) > queue_search.MAX_SEARCH_LENGTH:
        errors["q"] = _("Search for at most %(n)d characters.", n=queue_search.MAX_SEARCH_LENGTH)
        q = q[: queue_search.MAX_SEARCH_LENGTH]
    flt = queues.QueueFilter(
        view=view,
        mailbox_id=_int_arg("mailbox", errors),
        assignee_id=_int_arg("assignee", errors),
        status=_enum_arg("status", TicketStatus, errors),
        priority=_enum_arg("priority", Priority, errors),
        tag=request.args.get("tag", "").strip()[:64],
        customer_id=_int_arg("customer", errors),
        text=q,
        sort=queues.Sort(sort_key),
        descending=descending,
    )
    return flt, errors


def _filter_args() -> dict[str, str]:
    return {k: request.args[k] for k in FILTER_ARGS if request.args.get(k)}


@bp.get("/tickets")
@roles_required(*SUPPORT)
def index():
    return _render_queue()


def _render_queue(bulk_error: str | None = None):
    session = db_session()
    flt, errors = _filter_from_request()
    now = utcnow()
    number = page_number()
    result = queues.list_tickets(
        session, flt, user_id=current_user.id, now=now, page=number, size=PAGE_SIZE
    )
    context = dict(
        flt=flt,
        result=result,
        page=Page(number=number, size=PAGE_SIZE, total=result.total),
        counts=queues.count_views(session, current_user.id, now),
        latest=queues.latest_change(session),
        choices=queues.filter_choices(session),
        customer_label=queues.customer_label(session, flt.customer_id) if flt.customer_id else None,
        filter_args=_filter_args(),
        filter_errors=errors,
        bulk_error=bulk_error,
        raw_sort=request.args.get("sort", "-updated"),
        view_labels=VIEW_LABELS,
        view_empty_texts=VIEW_EMPTY_TEXTS,
        sort_labels=SORT_LABELS,
        now=now,
        live=number == 1 and flt.sort == queues.Sort.updated and flt.descending,
    )
    status = 400 if errors or bulk_error else 200
    return render_template("tickets/queue.html", **context), status


def _parse_since(raw: str) -> datetime | None:
    try:
        since = datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        return None
    return since if since.tzinfo is not None else None


@bp.get("/tickets/updates")
@roles_required(*SUPPORT)
def updates():
    """JSON for static/queues.js: new or changed rows of the view and fresh counts."""
    flt, errors = _filter_from_request()
    since = _parse_since(request.args.get("since", ""))
    if since is None:
        errors["since"] = _("since must be a time with a zone, like 2024-05-01T09:00:00+00:00.")
    if errors:
        return jsonify(error=_("Bad request."), fields=errors), 400
    session = db_session()
    now = utcnow()
    found = queues.updates_since(
        session, flt, user_id=current_user.id, since=since - POLL_OVERLAP, now=now
    )
    return jsonify(
        rows=[
            {
                "id": row.ticket.id,
                "version": row.ticket.updated_at.isoformat(),
                "html": render_template("tickets/queue_row.html", row=row, now=now),
            }
            for row in found.rows
        ],
        changed=found.changed_ids,
        counts={view.value: n for view, n in found.counts.items() if n is not None},
        latest=found.latest.isoformat() if found.latest else since.isoformat(),
    )


@bp.get("/tickets/counts")
@roles_required(*SUPPORT)
def counts():
    """JSON for static/queue_nav.js: the navigation's numbers, on pages without a list."""
    found = queues.nav_counts(db_session(), current_user.id)
    response = jsonify(counts={view.value: n for view, n in found.items()})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/tickets/bulk")
@roles_required(*SUPPORT)
def bulk():
    """The list's filters travel in the query string, so a refusal re-renders that list."""
    session = db_session()
    try:
        result = bulk_actions.bulk_update(
            session,
            current_user.id,
            request.form.getlist("ticket_ids"),
            request.form.get("action", ""),
            assignee_id=request.form.get("assignee_id"),
            tag=request.form.get("tag", ""),
            now=utcnow(),
        )
    except queues.QueueError as exc:
        session.rollback()
        return _render_queue(bulk_error=str(exc))
    session.commit()
    flash(_bulk_message(result), "success" if result.changed else "info")
    args = {k: v for k, v in _filter_args().items()}
    if request.args.get("page"):
        args["page"] = request.args["page"]
    return redirect(url_for("queues.index", **args))


def _bulk_message(result: bulk_actions.BulkResult) -> str:
    match result.action:
        case bulk_actions.BulkAction.assign:
            message = ngettext(
                "%(num)d ticket assigned to %(agent)s.",
                "%(num)d tickets assigned to %(agent)s.",
                result.changed,
                agent=result.detail,
            )
        case bulk_actions.BulkAction.close:
            message = ngettext("%(num)d ticket closed.", "%(num)d tickets closed.", result.changed)
        case _:
            message = ngettext(
                "Tag “%(tag)s” added to %(num)d ticket.",
                "Tag “%(tag)s” added to %(num)d tickets.",
                result.changed,
                tag=result.detail,
            )
    if result.skipped:
        message += " " + ngettext(
            "%(num)d already was, and was left as it is.",
            "%(num)d already were, and were left as they are.",
            result.skipped,
        )
    return message


@bp.post("/tickets/availability")
@roles_required(*SUPPORT)
def availability():
    session = db_session()
    available = request.form.get("available") == "1"
    assignment.set_availability(session, current_user.id, available)
    session.commit()
    if available:
        flash(_("You are available: new tickets can be assigned to you."), "success")
    else:
        flash(_("You are away: automatic assignment skips you."), "info")
    return redirect(safe_redirect_target(request.form.get("next"), url_for("queues.index")))
