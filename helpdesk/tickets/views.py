"""The ticket page and its actions: conversation, customer panel, assignment, status,
notes with @mentions, replies by mail, merging, attachments, presence and Mentions."""

from __future__ import annotations

import contextlib
import dataclasses
import io

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from redis.exceptions import RedisError
from wtforms import SelectChoice

from helpdesk import nav
from helpdesk.auth.permissions import SUPPORT, roles_required
from helpdesk.notifications import service as notification_service
from helpdesk.notifications.jobs import queue_notification_mail
from helpdesk.queue import MAIL_QUEUE, enqueue, redis_connection
from helpdesk.tickets import (
    customer_story,  # also registers the customer page's tickets and timeline sources
    display,
    event_text,
    merging,
    notes,
    presence,
    replies,
    service,
)
from helpdesk.tickets.forms import (
    PRIORITY_LABELS,
    STATUS_LABELS,
    ActionForm,
    AssignForm,
    MergeForm,
    NoteForm,
    PriorityForm,
    ReplyForm,
    StatusForm,
    TagsForm,
)
from helpdesk.tickets.jobs import send_ticket_message
from helpdesk.tickets.suggestions import suggestions_for_ticket
from helpdesk.web import bounded_int, db_session, headers

bp = Blueprint("tickets", __name__)
bp.add_app_template_filter(event_text.event_text, "event_text")
# Its own blueprint, so the navigation marks Mentions active only on that page.
mentions_bp = Blueprint("mentions", __name__)
nav.add_main("mentions.index", _l("Mentions"), SUPPORT, order=15)


@bp.app_template_filter("highlight_mentions")
def highlight_mentions(text: str, agents) -> Markup:
    return notes.highlight_mentions(text, agents)


def _config():
    return current_app.config["HELPDESK"]


def _mail_settings() -> replies.MailSettings:
    config = _config()
    return replies.MailSettings(config.secret_key, config.effective_mail_domain)


def _optional_int(raw: str | None, what: str) -> int | None:
    raw = (raw or "").strip().lstrip("#")
    if not raw:
        return None
    number = bounded_int(raw)
    if number is None:
        raise service.InvalidInput(_l("%(what)s must be a number.", what=what))
    return number


# --- the page ------------------------------------------------------------------------


def _frame_policy(load_remote: bool) -> str:
    remote = " https: http:" if load_remote else ""
    return (
        f"default-src 'none'; img-src {request.host_url.rstrip('/')} data:{remote}; "
        "style-src 'unsafe-inline'; font-src 'none'"
    )


def _page_policy(load_remote: bool) -> str:
    # Mail HTML runs in srcdoc frames, which inherit this policy: remote images load
    # only when the agent asked for them on this one page view.
    remote = " https: http:" if load_remote else ""
    # blob: for the previews of images pasted into the reply editor.
    return headers.policy(img_src=f"'self' data: blob:{remote}", style_src=headers.MAIL_STYLES)


def _mail_frames(page: display.TicketPage, remote_for: int | None) -> dict[int, dict]:
    frames = {}
    for message in page.messages:
        if not message.body_html_safe:
            continue
        load_remote = message.id == remote_for
        html = display.mail_html(
            message,
            lambda attachment_id: url_for(
                "tickets.attachment", ticket_id=page.ticket.id, attachment_id=attachment_id
            ),
            load_remote=load_remote,
        )
        document = render_template(
            "tickets/_mail_frame.html",
            html=Markup(html.html),  # sanitized by nh3 at ingest (helpdesk.mail.parse)
            policy=_frame_policy(load_remote),
        )
        frames[message.id] = {
            "srcdoc": document,
            "has_remote_images": html.has_remote_images,
            "remote_loaded": load_remote,
        }
    return frames


def _render(
    page: display.TicketPage,
    *,
    status: int = 200,
    error: object = None,
    reply_form: ReplyForm | None = None,
    note_form: NoteForm | None = None,
    conflict: service.ReplyConflict | None = None,
    attachments_dropped: bool = False,
):
    ticket = page.ticket
    if reply_form is None:
        reply_form = ReplyForm(
            formdata=None,
            seen_message_id=str(page.latest_message_id),
            cc=", ".join(p.email for p in page.participants),
        )
    assign_form = AssignForm(
        formdata=None,
        agent_id=str(ticket.assignee_id or ""),
        expected_assignee_id=str(ticket.assignee_id or ""),
    )
    assign_form.agent_id.choices = [SelectChoice("", _("Nobody"))] + [
        SelectChoice(str(agent.id), agent.name) for agent in page.agents
    ]
    try:
        remote_for = int(request.args.get("remote_images", ""))
    except ValueError:
        remote_for = None
    frames = _mail_frames(page, remote_for)
    html = render_template(
        "tickets/ticket.html",
        page=page,
        ticket=ticket,
        customer=page.customer,
        frames=frames,
        error=error,
        conflict=conflict,
        new_ids={m.id for m in conflict.new_messages} if conflict else set(),
        attachments_dropped=attachments_dropped,
        reply_form=reply_form,
        note_form=note_form or NoteForm(formdata=None),
        assign_form=assign_form,
        status_form=StatusForm(formdata=None, status=ticket.status.value),
        priority_form=PriorityForm(formdata=None, priority=ticket.priority.value),
        tags_form=TagsForm(formdata=None, tags=", ".join(t.name for t in ticket.tags)),
        merge_form=MergeForm(formdata=None),
        action_form=ActionForm(formdata=None),
        suggestions=suggestions_for_ticket(db_session(), ticket.id),
        signature=replies.composer_signature(db_session(), ticket, current_user.id),
        status_labels=STATUS_LABELS,
        priority_labels=PRIORITY_LABELS,
        channel_labels=customer_story.CHANNEL_LABELS,
    )
    response = Response(html, status=status)
    response.headers["Content-Security-Policy"] = _page_policy(remote_for is not None)
    return response


def _load_page(ticket_id: int) -> display.TicketPage:
    try:
        return display.ticket_page(db_session(), ticket_id)
    except service.TicketNotFound:
        abort(404)


_STATUS_FOR = (
    (service.AlreadyAssigned, 409),
    (service.ReplyConflict, 409),
    (service.TicketMerged, 409),
)


def _refused(ticket_id: int, exc: service.TicketActionError, **render_args):
    """Nothing was written: roll back and show the page again with the reason.

    404 when the ticket in the URL does not exist; another ticket named in the form
    that does not exist is bad input (400)."""
    session = db_session()
    session.rollback()
    page = _load_page(ticket_id)
    status = next((code for kind, code in _STATUS_FOR if isinstance(exc, kind)), 400)
    return _render(page, status=status, error=exc.message, **render_args)


def _done(ticket_id: int, message: str, anchor: str = ""):
    db_session().commit()
    flash(message, "success")
    return redirect(url_for("tickets.show", ticket_id=ticket_id) + anchor)


@bp.get("/tickets/<int:ticket_id>")
@roles_required(*SUPPORT)
def show(ticket_id: int):
    page = _load_page(ticket_id)
    session = db_session()
    # Opening the ticket is reading the notes that mention you there.
    mentions_read = notes.mark_mentions_read(session, current_user.id, ticket_id)
    if notification_service.mark_ticket_read(session, current_user.id, ticket_id) or mentions_read:
        session.commit()
    return _render(page)


@bp.get("/tickets/<int:ticket_id>/messages")
@roles_required(*SUPPORT)
def new_messages(ticket_id: int):
    """The messages after `after`, rendered as on the page, for the open page to add
    without a reload (which would lose the agent's draft)."""
    after = bounded_int(request.args.get("after", ""))
    if after is None:
        return _json_error(_("Give the id of the last message shown as `after`."), 400)
    page = _load_page(ticket_id)
    page = dataclasses.replace(page, messages=[m for m in page.messages if m.id > after])
    html = render_template(
        "tickets/_new_messages.html",
        page=page,
        frames=_mail_frames(page, None),
        new_ids={m.id for m in page.messages},
        action_form=ActionForm(formdata=None),
    )
    return jsonify(
        html=html,
        count=len(page.messages),
        latest_message_id=page.latest_message_id,
        version=page.ticket.version,
    )


@bp.get("/tickets/<int:ticket_id>/attachments/<int:attachment_id>")
@roles_required(*SUPPORT)
def attachment(ticket_id: int, attachment_id: int):
    try:
        found, content = display.attachment_content(db_session(), ticket_id, attachment_id)
    except service.AttachmentNotFound:
        abort(404)
    ctype = found.content_type.lower()
    response = send_file(
        io.BytesIO(content),
        mimetype=ctype if replies.CONTENT_TYPE_PATTERN.match(ctype) else "application/octet-stream",
        as_attachment=True,
        download_name=found.filename,
        max_age=0,
    )
    # Whatever the sender claims the file is, it never runs as a page of ours.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; sandbox; frame-ancestors 'none'"
    )
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# --- actions -------------------------------------------------------------------------


@bp.post("/tickets/<int:ticket_id>/assign")
@roles_required(*SUPPORT)
def assign(ticket_id: int):
    form = AssignForm()
    raw = (form.agent_id.data or "").strip()
    try:
        agent_id = current_user.id if raw == "me" else _optional_int(raw, _("Assignee"))
        expected = _optional_int(form.expected_assignee_id.data, _("Expected assignee"))
        ticket = service.assign_ticket(
            db_session(),
            ticket_id,
            agent_id,
            actor_id=current_user.id,
            expected_assignee_id=expected,
        )
    except service.TicketActionError as exc:
        return _refused(ticket_id, exc)
    if ticket.assignee_id == current_user.id:
        message = _("You took this ticket.")
    elif ticket.assignee_id is None:
        message = _("The ticket is unassigned.")
    else:
        message = _("Ticket assigned.")
    done = _done(ticket_id, message)
    _queue_notification_mail()
    return done


@bp.post("/tickets/<int:ticket_id>/status")
@roles_required(*SUPPORT)
def status(ticket_id: int):
    form = StatusForm()
    try:
        ticket = service.set_status(
            db_session(), ticket_id, form.status.data, actor_id=current_user.id
        )
    except service.TicketActionError as exc:
        return _refused(ticket_id, exc)
    return _done(ticket_id, _("Status set to %(status)s.", status=STATUS_LABELS[ticket.status]))


@bp.post("/tickets/<int:ticket_id>/priority")
@roles_required(*SUPPORT)
def priority(ticket_id: int):
    form = PriorityForm()
    try:
        ticket = service.set_priority(
            db_session(), ticket_id, form.priority.data, actor_id=current_user.id
        )
    except service.TicketActionError as exc:
        return _refused(ticket_id, exc)
    return _done(
        ticket_id, _("Priority set to %(priority)s.", priority=PRIORITY_LABELS[ticket.priority])
    )


@bp.post("/tickets/<int:ticket_id>/tags")
@roles_required(*SUPPORT)
def tags(ticket_id: int):
    form = TagsForm()
    try:
        service.set_tags(db_session(), ticket_id, form.tags.data or "", actor_id=current_user.id)
    except service.TicketActionError as exc:
        return _refused(ticket_id, exc)
    return _done(ticket_id, _("Tags saved."))


@bp.post("/tickets/<int:ticket_id>/notes")
@roles_required(*SUPPORT)
def note(ticket_id: int):
    form = NoteForm()
    try:
        created = notes.add_note(
            db_session(), ticket_id, author_id=current_user.id, body=form.note.data
        )
    except service.TicketActionError as exc:
        return _refused(ticket_id, exc, note_form=form)
    done = _done(ticket_id, _("Note added."), f"#message-{created.id}")
    _queue_notification_mail()
    return done


def _queue_notification_mail() -> None:
    if notification_service.mail_due(db_session()):
        queue_notification_mail(_config())


def _uploads(field: str = "attachments") -> list[replies.Upload]:
    return [
        replies.Upload(f.filename or "", f.mimetype or "", f.read())
        for f in request.files.getlist(field)
        if f and f.filename
    ]


def _queue_send(message_id: int) -> bool:
    try:
        enqueue(_config(), MAIL_QUEUE, send_ticket_message, message_id)
    except RedisError as exc:
        session = db_session()
        replies.mark_not_queued(session, message_id, f"mail queue unreachable: {exc}")
        session.commit()
        return False
    return True


@bp.post("/tickets/<int:ticket_id>/replies")
@roles_required(*SUPPORT)
def reply(ticket_id: int):
    form = ReplyForm()
    uploads = _uploads()
    pasted_images = _uploads("inline_images")
    # A refused reply comes back without its files: the page asks for them again, or,
    # with JavaScript, puts back those the browser kept (static/rich_reply.js).
    files_dropped = bool(uploads or pasted_images)
    session = db_session()
    try:
        seen = _optional_int(form.seen_message_id.data, _("Seen message"))
        message = replies.send_reply(
            session,
            ticket_id,
            current_user.id,
            form.body.data,
            form.cc.data,
            uploads,
            seen,
            form.status.data,
            mail=_mail_settings(),
            body_html=form.body_html.data,
            inline_images=pasted_images,
        )
    except service.ReplyConflict as exc:
        # The agent now has seen these: sending again as it is means "send anyway".
        form.seen_message_id.data = str(exc.latest_message_id)
        return _refused(
            ticket_id, exc, reply_form=form, conflict=exc, attachments_dropped=files_dropped
        )
    except service.TicketActionError as exc:
        return _refused(ticket_id, exc, reply_form=form, attachments_dropped=files_dropped)
    session.commit()
    if _queue_send(message.id):
        flash(_("Reply queued for sending."), "success")
    else:
        flash(_("The reply is saved, but the mail queue is unreachable. Retry it later."), "error")
    return redirect(url_for("tickets.show", ticket_id=ticket_id) + f"#message-{message.id}")


@bp.post("/tickets/<int:ticket_id>/messages/<int:message_id>/retry")
@roles_required(*SUPPORT)
def retry(ticket_id: int, message_id: int):
    ActionForm()
    session = db_session()
    try:
        replies.requeue_failed_reply(session, ticket_id, message_id)
    except service.TicketActionError as exc:
        return _refused(ticket_id, exc)
    session.commit()
    if _queue_send(message_id):
        flash(_("The reply is queued to be sent again."), "success")
    else:
        flash(_("The mail queue is unreachable. Retry it later."), "error")
    return redirect(url_for("tickets.show", ticket_id=ticket_id) + f"#message-{message_id}")


@bp.post("/tickets/<int:ticket_id>/merge")
@roles_required(*SUPPORT)
def merge(ticket_id: int):
    form = MergeForm()
    try:
        target_id = _optional_int(form.target_id.data, _("Ticket number"))
        if target_id is None:
            raise service.InvalidInput(_l("Enter the number of the ticket to merge into."))
        target = merging.merge_tickets(db_session(), ticket_id, target_id, current_user.id)
    except service.TicketActionError as exc:
        return _refused(ticket_id, exc)
    return _done(target.id, _("Ticket #%(source)d merged into this one.", source=ticket_id))


# --- presence ------------------------------------------------------------------------


def _json_error(message: str, status: int):
    return jsonify(error=message), status


@bp.errorhandler(CSRFError)
def csrf_failed(_error):
    message = _("The form expired or was not sent from this site. Please reload the page.")
    if request.path.endswith("/presence"):
        return _json_error(message, 400)
    return render_template("error.html", code=400, message=message), 400


@bp.post("/tickets/<int:ticket_id>/presence")
@roles_required(*SUPPORT)
def presence_heartbeat(ticket_id: int):
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("typing", False), bool):
        return _json_error(_('Send a JSON object like {"typing": false}.'), 400)
    session = db_session()
    try:
        state = display.ticket_state(session, ticket_id)
    except service.TicketNotFound as exc:
        return _json_error(str(exc.message), 404)
    try:
        viewers = presence.heartbeat(
            redis_connection(_config()),
            ticket_id,
            current_user.id,
            typing=data.get("typing", False),
        )
    except RedisError:
        return _json_error(_("Presence is unavailable right now."), 503)
    names = service.user_names(session, [v.user_id for v in viewers])
    return jsonify(
        viewers=[
            {"id": v.user_id, "name": names[v.user_id], "typing": v.typing}
            for v in viewers
            if v.user_id in names
        ],
        version=state.version,
        latest_message_id=state.latest_message_id,
        merged_into_id=state.merged_into_id,
    )


@bp.post("/tickets/<int:ticket_id>/presence/leave")
@roles_required(*SUPPORT)
def presence_leave(ticket_id: int):
    # Should Redis be away, the heartbeat lapses by itself within a few seconds.
    with contextlib.suppress(RedisError):
        presence.leave(redis_connection(_config()), ticket_id, current_user.id)
    return "", 204


# --- mentions ------------------------------------------------------------------------


@mentions_bp.get("/tickets/mentions")
@roles_required(*SUPPORT)
def index():
    entries = notes.mentions_of(db_session(), current_user.id)
    return render_template(
        "tickets/ticket_mentions.html", entries=entries, action_form=ActionForm(formdata=None)
    )


@mentions_bp.post("/tickets/mentions/read")
@roles_required(*SUPPORT)
def mark_read():
    ActionForm()
    session = db_session()
    count = notes.mark_mentions_read(session, current_user.id)
    session.commit()
    flash(
        ngettext("%(num)d mention marked as read.", "%(num)d mentions marked as read.", count),
        "success",
    )
    return redirect(url_for("mentions.index"))
