"""The New ticket page: an agent starts a conversation by mail, or logs a phone call or
a visit, for an existing customer or a new address."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from redis.exceptions import RedisError
from sqlalchemy import select
from wtforms import SelectChoice

from helpdesk.auth.permissions import SUPPORT, roles_required
from helpdesk.customers import service as customer_service
from helpdesk.mail.models import Mailbox
from helpdesk.tickets import replies, service, starting
from helpdesk.tickets.forms import NewTicketForm
from helpdesk.tickets.jobs import enqueue_ticket_message
from helpdesk.web import bounded_int, db_session

bp = Blueprint("new_ticket", __name__)


def _mailbox_choices() -> list[SelectChoice]:
    mailboxes = db_session().scalars(
        select(Mailbox).where(Mailbox.is_active).order_by(Mailbox.name, Mailbox.id)
    )
    return [SelectChoice(str(m.id), f"{m.name} <{m.address}>") for m in mailboxes]


def _prefilled_form() -> NewTicketForm:
    """From the customer page, the form is addressed to that customer."""
    customer_id = bounded_int(request.args.get("customer_id", ""))
    customer = customer_service.get_customer(db_session(), customer_id) if customer_id else None
    if customer is None:
        return NewTicketForm(formdata=None)
    return NewTicketForm(formdata=None, to=customer.email, name=customer.name)


def _queue_send(message_id: int) -> bool:
    try:
        enqueue_ticket_message(current_app.config["HELPDESK"], message_id)
    except RedisError as exc:
        session = db_session()
        replies.mark_not_queued(session, message_id, f"mail queue unreachable: {exc}")
        session.commit()
        return False
    return True


def _start(form: NewTicketForm) -> starting.StartedTicket:
    config = current_app.config["HELPDESK"]
    return starting.start_ticket(
        db_session(),
        current_user.id,
        starting.NewTicket(
            channel=form.channel.data or "",
            to=form.to.data or "",
            name=form.name.data or "",
            subject=form.subject.data or "",
            body=form.body.data or "",
            mailbox_id=bounded_int(form.mailbox_id.data or ""),
        ),
        mail=replies.MailSettings(config.secret_key, config.effective_mail_domain),
    )


@bp.route("/tickets/new", methods=["GET", "POST"])
@roles_required(*SUPPORT)
def form():
    form = NewTicketForm() if request.method == "POST" else _prefilled_form()
    form.mailbox_id.choices = _mailbox_choices()
    status = 200
    if form.validate_on_submit():
        session = db_session()
        try:
            started = _start(form)
        except service.InvalidInput as exc:
            session.rollback()
            if exc.field in form:
                form[exc.field].errors = [*form[exc.field].errors, str(exc.message)]
            else:
                form.form_errors.append(str(exc.message))
        else:
            session.commit()
            ticket_id = started.ticket.id
            if started.outgoing is None:
                flash(_("Ticket #%(id)d logged.", id=ticket_id), "success")
            elif _queue_send(started.outgoing.id):
                flash(_("Ticket #%(id)d started; the mail is queued.", id=ticket_id), "success")
            else:
                flash(
                    _("The ticket is saved, but the mail queue is unreachable. Retry it later."),
                    "error",
                )
            return redirect(url_for("tickets.show", ticket_id=ticket_id))
    if request.method == "POST":
        status = 400
    return render_template("tickets/new_ticket.html", form=form), status
