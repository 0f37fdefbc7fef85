"""The help centre's "Still need help?" page: the customer's message is taken in like mail
(helpdesk.inbound.contact) and the confirmation queued. The page looks and caches like
the help centre's own pages (helpdesk.faq.public_views)."""

from __future__ import annotations

import logging
import secrets

from flask import Blueprint, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from redis.exceptions import RedisError
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Length

from helpdesk.auth.permissions import client_ip, public
from helpdesk.faq import service, visits
from helpdesk.faq.public_views import public_page
from helpdesk.inbound import contact
from helpdesk.notifications.jobs import queue_notification_mail
from helpdesk.queue import redis_connection
from helpdesk.tickets.jobs import enqueue_ticket_message
from helpdesk.web import db_session

log = logging.getLogger(__name__)

bp = Blueprint("contact", __name__)


class ContactForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[Length(max=contact.MAX_NAME)])
    email = StringField(_l("Your email"))
    subject = StringField(_l("Subject"), validators=[Length(max=contact.MAX_SUBJECT)])
    message = TextAreaField(_l("Your question"), validators=[Length(max=contact.MAX_MESSAGE)])
    # Hidden from people by CSS; bots that fill every field give themselves away.
    website = StringField(_l("Leave this field empty"))
    form_token = HiddenField()


def _config():
    return current_app.config["HELPDESK"]


def _limiter() -> service.RateLimiter:
    return service.RateLimiter(redis_connection(_config()))


@bp.route("/faq/contact", methods=["GET", "POST"])
@public
def contact_page():
    session = db_session()
    form = ContactForm()
    if request.method == "GET":
        form.form_token.data = secrets.token_urlsafe(24)
    status = 200
    if form.is_submitted():
        status = 400
        if form.validate():
            try:
                result = contact.submit_contact(
                    session,
                    _contact_request(form),
                    config=_config(),
                    limiter=_limiter(),
                    ip=client_ip(),
                    confirmation_text=_(
                        "Hello %(name)s,\n\nwe received your message and opened ticket"
                        " %(reference)s for it. We will answer as soon as we can.\n\n"
                        "To add to this request, reply to this email and keep"
                        " [%(reference)s] in the subject."
                    ),
                )
            except contact.ContactInvalid as exc:
                session.rollback()
                for name, message in exc.errors.items():
                    form[name].errors = [*form[name].errors, message]
            except service.RateLimited:
                session.rollback()
                form.form_errors.append(
                    _("You have sent several messages already. Please wait an hour and try again.")
                )
                status = 429
            except contact.ContactNotAccepted:
                session.rollback()
                form.form_errors.append(
                    _("We could not accept this message. Please check your email address.")
                )
            else:
                _queue_confirmation(result)
                if result.ticket_id and not result.duplicate:
                    visits.contact_sent(result.ticket_id)
                return public_page("faq/contact_sent.html", shared=False, result=result)
    return public_page("faq/contact.html", status, shared=False, form=form)


def _contact_request(form: ContactForm) -> contact.ContactRequest:
    return contact.ContactRequest(
        name=form.name.data or "",
        email=form.email.data or "",
        subject=form.subject.data or "",
        message=form.message.data or "",
        form_token=form.form_token.data or "",
        honeypot=form.website.data or "",
    )


def _queue_confirmation(result: contact.ContactResult) -> None:
    if result.notification_mail:
        queue_notification_mail(_config())
    if result.acknowledgement_id is None:
        return
    try:
        enqueue_ticket_message(_config(), result.acknowledgement_id)
    except RedisError as exc:
        # The row stays queued; the outbox shows it and it can be sent again from there.
        log.warning("could not queue confirmation %s: %s", result.acknowledgement_id, exc)
