"""Admin pages for mailboxes (IMAP settings, poll status) and the quarantine of mail that
could not be taken in."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from helpdesk import nav
from helpdesk.auth.models import Role
from helpdesk.auth.permissions import roles_required
from helpdesk.db import utcnow
from helpdesk.inbound.incoming import IngestSettings, NotQuarantined, RawMessageNotFound
from helpdesk.inbound.ingest import (
    queue_after_ingest,
    reprocess_quarantined,
    unprocessed_messages,
)
from helpdesk.mail import service
from helpdesk.mail.models import ClosedReplyPolicy, Mailbox, RawStatus, TLSMode
from helpdesk.text import LANGUAGES
from helpdesk.web import Page, db_session, page_number

bp = Blueprint("mailboxes", __name__)
nav.add_setting(
    "mailboxes.index", _l("Mailboxes"), _l("Addresses we receive mail for, IMAP polling"), order=20
)
nav.add_setting(
    "mailboxes.quarantine",
    _l("Quarantine"),
    _l("Received mail that could not become a ticket"),
    order=25,
)

PAGE_SIZE = 50
TLS_CHOICES = [
    SelectChoice(TLSMode.ssl.value, _l("SSL/TLS (port 993)")),
    SelectChoice(TLSMode.starttls.value, _l("STARTTLS (port 143)")),
    SelectChoice(TLSMode.none.value, _l("None (only on a trusted network)")),
]
POLICY_CHOICES = [
    SelectChoice(ClosedReplyPolicy.reopen.value, _l("Reopen the ticket")),
    SelectChoice(ClosedReplyPolicy.follow_up.value, _l("Open a follow-up ticket")),
]


class MailboxForm(FlaskForm):
    # Plain text fields: the service checks every value, so the rules live in one place.
    name = StringField(_l("Name"), validators=[Length(max=200)])
    address = StringField(_l("Address"), validators=[Length(max=320)])
    is_active = BooleanField(_l("Active"), default=True)
    imap_host = StringField(
        _l("IMAP server"),
        validators=[Length(max=255)],
        description=_l("Leave empty for a mailbox that only receives through the SMTP gateway."),
    )
    imap_port = StringField(_l("Port"), validators=[Length(max=5)])
    imap_tls = SelectField(_l("Encryption"), choices=TLS_CHOICES, validate_choice=False)
    imap_user = StringField(_l("IMAP user"), validators=[Length(max=320)])
    password_ref = StringField(
        _l("Password reference"),
        validators=[Length(max=500)],
        description=_l(
            "Where the poller reads the password: env:VARIABLE_NAME or file:/absolute/path."
            " The password itself is never stored or shown here."
        ),
    )
    imap_folder = StringField(_l("Folder"), validators=[Length(max=255)], default="INBOX")
    archive_folder = StringField(
        _l("Archive folder"),
        validators=[Length(max=255)],
        description=_l("Optional: taken mail is moved here. Otherwise it is marked as read."),
    )
    poll_interval_seconds = StringField(
        _l("Poll interval (seconds)"),
        validators=[Length(max=6)],
        default="60",
        description=_l("Used when the server does not push new mail (IMAP IDLE)."),
    )
    start_date = StringField(
        _l("Start date"),
        validators=[Length(max=10)],
        description=_l("Mail older than this is imported without an acknowledgement (YYYY-MM-DD)."),
    )
    send_acknowledgement = BooleanField(_l("Acknowledge new tickets by mail"))
    closed_reply_policy = SelectField(
        _l("A reply to a closed ticket"), choices=POLICY_CHOICES, validate_choice=False
    )
    assign_on_reply = BooleanField(
        _l("Assign an unassigned ticket to the agent who replies"), default=True
    )
    reply_language = SelectField(
        _l("Language of replies"),
        choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()],
        validate_choice=False,
        description=_l(
            "Replies are signed in the customer's language (a customer field named"
            " language, such as ko or en); when it is not known, in this one."
        ),
    )
    signature = TextAreaField(
        _l("Signature in English"),
        render_kw={"rows": 4, "lang": "en"},
        description=_l(
            "Added under every reply from this mailbox. Placeholders: {{ agent_signature }}"
            " (the agent's own signature; without it, that goes above this one),"
            " {{ agent_name }}, {{ mailbox_name }}."
        ),
    )
    signature_ko = TextAreaField(
        _l("Signature in Korean"),
        render_kw={"rows": 4, "lang": "ko"},
        description=_l(
            "The same for replies in Korean; when one of the two is empty, the other is used."
        ),
    )


def _form_data(form: MailboxForm) -> dict[str, object]:
    return {name: field.data for name, field in form._fields.items() if name != "csrf_token"}


def _show_errors(form: MailboxForm, exc: service.MailboxInvalid) -> None:
    for name, message in exc.errors.items():
        form[name].errors = [*form[name].errors, message]
    if "password_ref" in exc.errors:
        # What was typed may be the password itself; never send it back to the browser.
        form.password_ref.data = ""


def _status(form: MailboxForm) -> int:
    return 400 if form.errors else 200


def _initial(mailbox: Mailbox, timezone: str) -> dict[str, object]:
    start = mailbox.start_date
    return {
        "name": mailbox.name,
        "address": mailbox.address,
        "is_active": mailbox.is_active,
        "imap_host": mailbox.imap_host,
        "imap_port": str(mailbox.imap_port),
        "imap_tls": mailbox.imap_tls.value,
        "imap_user": mailbox.imap_user,
        "password_ref": mailbox.password_ref,
        "imap_folder": mailbox.imap_folder,
        "archive_folder": mailbox.archive_folder or "",
        "poll_interval_seconds": str(mailbox.poll_interval_seconds),
        "start_date": start.astimezone(ZoneInfo(timezone)).date().isoformat() if start else "",
        "send_acknowledgement": mailbox.send_acknowledgement,
        "closed_reply_policy": mailbox.closed_reply_policy.value,
        "assign_on_reply": mailbox.assign_on_reply,
        "reply_language": mailbox.reply_language,
        "signature": mailbox.signature,
        "signature_ko": mailbox.signature_ko,
    }


@bp.get("/admin/mailboxes")
@roles_required(Role.admin)
def index():
    session = db_session()
    mailboxes = service.list_mailboxes(session)
    return render_template(
        "mailboxes/index.html",
        mailboxes=mailboxes,
        mailbox_names={mailbox.id: mailbox.name for mailbox in mailboxes},
        waiting=unprocessed_messages(session),
        now=utcnow(),
    )


@bp.route("/admin/mailboxes/new", methods=["GET", "POST"])
@roles_required(Role.admin)
def new():
    form = MailboxForm()
    if form.validate_on_submit():
        session = db_session()
        try:
            mailbox = service.create_mailbox(session, _form_data(form), current_user.timezone)
        except service.MailboxInvalid as exc:
            session.rollback()
            _show_errors(form, exc)
        else:
            session.commit()
            flash(_("Mailbox %(address)s created.", address=mailbox.address), "success")
            return redirect(url_for("mailboxes.index"))
    return render_template("mailboxes/form.html", form=form, mailbox=None), _status(form)


@bp.route("/admin/mailboxes/<int:mailbox_id>", methods=["GET", "POST"])
@roles_required(Role.admin)
def edit(mailbox_id: int):
    session = db_session()
    mailbox = service.get_mailbox(session, mailbox_id) or abort(404)
    form = MailboxForm(data=_initial(mailbox, current_user.timezone))
    if form.validate_on_submit():
        try:
            service.update_mailbox(session, mailbox, _form_data(form), current_user.timezone)
        except service.MailboxInvalid as exc:
            session.rollback()
            _show_errors(form, exc)
        else:
            session.commit()
            flash(_("Mailbox %(address)s saved.", address=mailbox.address), "success")
            return redirect(url_for("mailboxes.index"))
    return render_template("mailboxes/form.html", form=form, mailbox=mailbox), _status(form)


@bp.get("/admin/quarantine")
@roles_required(Role.admin)
def quarantine():
    session = db_session()
    page = Page(number=page_number(), size=PAGE_SIZE, total=service.count_quarantined(session))
    entries = service.list_quarantined(session, offset=page.offset, limit=page.size)
    return render_template("mailboxes/quarantine.html", entries=entries, page=page)


@bp.post("/admin/quarantine/<int:raw_id>/reprocess")
@roles_required(Role.admin)
def reprocess(raw_id: int):
    session = db_session()
    settings = IngestSettings.from_config(current_app.config["HELPDESK"])
    try:
        result = reprocess_quarantined(session, raw_id, settings)
    except RawMessageNotFound:
        abort(404)
    except NotQuarantined:
        session.rollback()
        flash(_("That message is no longer in quarantine."), "warning")
        return redirect(url_for("mailboxes.quarantine"))
    # The customer gets the receipt a message taken in on time would have brought.
    queue_after_ingest(current_app.config["HELPDESK"], [result])
    if result.status is RawStatus.quarantined:
        flash(_("Still quarantined: %(reason)s", reason=result.reason), "error")
    elif result.ticket_id is not None:
        flash(
            _(
                "Message taken in: ticket #%(id)d (%(reason)s).",
                id=result.ticket_id,
                reason=result.reason,
            ),
            "success",
        )
    else:
        flash(_("Message processed: %(reason)s", reason=result.reason), "success")
    return redirect(url_for("mailboxes.quarantine"))
