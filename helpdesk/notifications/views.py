"""The bell in the header, the notifications page, each agent's switches and watched
mailboxes (shown on the preferences page), and the agent list the @mention
autocomplete reads."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
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
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from helpdesk.auth.models import Role
from helpdesk.auth.permissions import SUPPORT, roles_required
from helpdesk.input_bounds import bounded_int
from helpdesk.notifications import service
from helpdesk.notifications.models import NotificationKind
from helpdesk.web import db_session
from helpdesk.web.redirects import safe_redirect_target

bp = Blueprint("notifications", __name__)

KIND_LABELS = {
    NotificationKind.assigned: _l("Assigned to me"),
    NotificationKind.mentioned: _l("Mentioned in a note"),
    NotificationKind.customer_replied: _l("The customer replied on my ticket"),
    NotificationKind.overdue: _l("A ticket of mine is overdue"),
    NotificationKind.new_ticket: _l("New ticket in a mailbox I watch"),
    NotificationKind.bad_rating: _l("A customer rated my ticket as bad"),
}
MAX_QUERY = 100
MENU_LIMIT = 8


def _is_support() -> bool:
    return current_user.is_authenticated and current_user.role in (Role.admin, Role.agent)


@bp.app_context_processor
def notification_context():
    def bell() -> int | None:
        """The unread count for the header, None for users without notifications."""
        if not _is_support():
            return None
        try:
            return service.unread_count(db_session(), current_user.id)
        except SQLAlchemyError:
            # A convenience, like the navigation's counts: a page (an error page among
            # them) still renders when the database cannot answer right now.
            current_app.logger.warning("notification count unavailable", exc_info=True)
            return 0

    def settings() -> dict | None:
        if not _is_support():
            return None
        session = db_session()
        return {
            "labels": KIND_LABELS,
            "switches": service.switches_of(session, current_user.id),
            "mailboxes": service.mailboxes(session),
            "watched": service.watched_mailbox_ids(session, current_user.id),
        }

    return {"notification_bell": bell, "notification_settings": settings}


@bp.get("/notifications")
@roles_required(*SUPPORT)
def index():
    entries = service.recent(db_session(), current_user.id)
    return render_template("notifications/index.html", entries=entries, labels=KIND_LABELS)


@bp.get("/notifications/menu")
@roles_required(*SUPPORT)
def menu():
    """The dropdown under the bell: a fragment notifications.js puts under the bell."""
    session = db_session()
    entries = service.recent(session, current_user.id, limit=MENU_LIMIT)
    unread = service.unread_count(session, current_user.id)
    back = safe_redirect_target(request.args.get("next"), url_for("notifications.index"))
    return render_template(
        "notifications/_menu.html", entries=entries, labels=KIND_LABELS, unread=unread, back=back
    )


@bp.get("/notifications/unread.json")
@roles_required(*SUPPORT)
def unread():
    return jsonify(unread=service.unread_count(db_session(), current_user.id))


@bp.post("/notifications/<int:notification_id>/read")
@roles_required(*SUPPORT)
def mark_read(notification_id: int):
    """Open what the notification is about; it counts as read."""
    session = db_session()
    notification = service.notification_of(session, current_user.id, notification_id)
    if notification is None:
        abort(404)
    service.mark_read(session, current_user.id, notification_id)
    session.commit()
    if notification.ticket_id is None:
        return redirect(url_for("notifications.index"))
    return redirect(url_for("tickets.show", ticket_id=notification.ticket_id))


@bp.post("/notifications/read")
@roles_required(*SUPPORT)
def mark_all_read():
    session = db_session()
    count = service.mark_read(session, current_user.id)
    session.commit()
    flash(_("%(count)d notification(s) marked as read.", count=count), "success")
    # From the dropdown the agent stays on the page they were reading.
    return redirect(safe_redirect_target(request.form.get("next"), url_for("notifications.index")))


@bp.post("/notifications/settings")
@roles_required(*SUPPORT)
def save_settings():
    form = request.form
    switches = {
        kind: service.Switches(
            in_app=form.get(f"in_app_{kind.value}") == "on",
            email=form.get(f"email_{kind.value}") == "on",
        )
        for kind in NotificationKind
    }
    watched = [bounded_int(value) for value in form.getlist("watch")]
    session = db_session()
    try:
        if None in watched:
            raise service.UnknownMailbox(None)
        service.save_watches(session, current_user.id, watched)
    except service.UnknownMailbox:
        session.rollback()
        message = _("That mailbox does not exist. Nothing was changed.")
        return render_template("error.html", code=400, message=message), 400
    service.save_switches(session, current_user.id, switches)
    session.commit()
    flash(_("Notification settings saved."), "success")
    return redirect(url_for("auth.preferences") + "#notifications")


@bp.get("/notifications/agents.json")
@roles_required(*SUPPORT)
def agents():
    """Active agents for the @mention autocomplete: name and the handle to insert."""
    query = request.args.get("q", "")[:MAX_QUERY]
    found = service.active_agents(db_session(), query)
    return jsonify(
        agents=[
            {"id": a.id, "name": a.name, "handle": "".join(a.name.split()) or a.email}
            for a in found
        ]
    )
