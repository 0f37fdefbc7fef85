"""Pages to manage saved replies, and the composer's endpoints: the picker's list and
inserting one into a reply on a ticket."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import groupby

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from helpdesk import nav
from helpdesk.auth.models import User
from helpdesk.auth.permissions import SUPPORT, roles_required
from helpdesk.saved_replies import service
from helpdesk.saved_replies.forms import SavedReplyForm
from helpdesk.tickets.service import TicketNotFound
from helpdesk.web import bounded_int, db_session

bp = Blueprint("saved_replies", __name__)
nav.add_main("saved_replies.index", _l("Saved replies"), SUPPORT, order=32)

EXCERPT = 160


def _user() -> User:
    return db_session().get(User, current_user.id)


def _data(form: SavedReplyForm) -> service.SavedReplyData:
    return service.SavedReplyData(
        title=form.title.data or "",
        folder=form.folder.data or "",
        body=form.body.data or "",
        shared=bool(form.shared.data),
    )


def _form_page(form: SavedReplyForm, reply=None):
    status = 400 if form.errors or form.form_errors else 200
    folders = service.folder_names(db_session(), _user())
    return render_template(
        "saved_replies/form.html", form=form, reply=reply, folders=folders
    ), status


def _save(form: SavedReplyForm, write):
    """Runs `write`; refusals go onto the form and nothing is saved."""
    session = db_session()
    try:
        reply = write()
    except service.SavedReplyInvalid as exc:
        session.rollback()
        for name, message in exc.errors.items():
            if name == "shared":  # agents' forms do not show the box
                form.form_errors.append(message)
            else:
                form[name].errors = [*form[name].errors, message]
        return None
    session.commit()
    flash(_("Saved reply “%(title)s” saved.", title=reply.title), "success")
    return redirect(url_for("saved_replies.index"))


@bp.get("/saved-replies")
@roles_required(*SUPPORT)
def index():
    user = _user()
    replies = service.list_for_management(db_session(), user)
    folders = [(name, list(items)) for name, items in groupby(replies, key=lambda r: r.folder)]
    owners = service.owner_names(db_session(), replies)
    return render_template(
        "saved_replies/index.html",
        folders=folders,
        owners=owners,
        can_edit=lambda reply: service.can_edit(user, reply),
    )


@bp.route("/saved-replies/new", methods=["GET", "POST"])
@roles_required(*SUPPORT)
def new():
    form = SavedReplyForm()
    if form.validate_on_submit():
        saved = _save(form, lambda: service.create(db_session(), _user(), _data(form)))
        if saved:
            return saved
    return _form_page(form)


def _editable(reply_id: int):
    try:
        reply = service.get_visible(db_session(), _user(), reply_id)
    except service.SavedReplyNotFound:
        abort(404)
    if not service.can_edit(_user(), reply):
        abort(403)
    return reply


@bp.route("/saved-replies/<int:reply_id>/edit", methods=["GET", "POST"])
@roles_required(*SUPPORT)
def edit(reply_id: int):
    reply = _editable(reply_id)
    initial = {
        "title": reply.title,
        "folder": reply.folder,
        "body": reply.body,
        "shared": reply.is_shared,
    }
    form = SavedReplyForm(data=initial if request.method == "GET" else None)
    if form.validate_on_submit():
        saved = _save(
            form, lambda: service.update_reply(db_session(), _user(), reply_id, _data(form))
        )
        if saved:
            return saved
    return _form_page(form, reply)


@bp.post("/saved-replies/<int:reply_id>/delete")
@roles_required(*SUPPORT)
def delete(reply_id: int):
    # CSRFProtect has checked the form's token before this runs.
    title = _editable(reply_id).title
    service.delete_reply(db_session(), _user(), reply_id)
    db_session().commit()
    flash(_("Saved reply “%(title)s” deleted.", title=title), "success")
    return redirect(url_for("saved_replies.index"))


# -- the reply composer -------------------------------------------------------------


def _json_error(message: str, status: int):
    return jsonify({"error": message}), status


@bp.get("/saved-replies/picker")
@roles_required(*SUPPORT)
def picker():
    text = request.args.get("q", "")[:200]
    found = service.search(db_session(), _user(), text)
    return jsonify(
        {
            "replies": [
                {
                    "id": reply.id,
                    "title": reply.title,
                    "folder": reply.folder,
                    "shared": reply.is_shared,
                    "excerpt": reply.body[:EXCERPT],
                    "used_in_replies": reply.used_in_replies,
                    "insert_url": url_for("saved_replies.insert", reply_id=reply.id),
                }
                for reply in found
            ]
        }
    )


@bp.post("/saved-replies/<int:reply_id>/insert")
@roles_required(*SUPPORT)
def insert(reply_id: int):
    payload = request.get_json(silent=True) or request.form
    raw = payload.get("ticket_id") if isinstance(payload, Mapping) else None
    ticket_id = bounded_int(raw, minimum=1)
    if ticket_id is None:
        return _json_error(_("ticket_id must be a ticket number."), 400)
    session = db_session()
    try:
        inserted = service.insert_into_reply(session, _user(), reply_id, ticket_id)
    except service.SavedReplyNotFound:
        return _json_error(_("There is no saved reply %(id)s.", id=reply_id), 404)
    except TicketNotFound:
        return _json_error(_("There is no ticket %(id)s.", id=ticket_id), 404)
    except service.SavedReplyInvalid as exc:
        session.rollback()
        return _json_error(str(exc.errors["body"]), 422)
    session.commit()
    return jsonify({"text": inserted.text, "used_in_replies": inserted.used_in_replies})
