"""Forms of the ticket page. They render fields and carry the CSRF token; the rules
(what a valid status, agent or address is) live in helpdesk.tickets.service and replies."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    MultipleFileField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)

from helpdesk.tickets.models import Priority, TicketStatus

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


def _status_choices():
    return [SelectChoice(status.value, label) for status, label in STATUS_LABELS.items()]


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Reply to the customer"), id="reply-body", render_kw={"rows": 8})
    # Filled by the rich editor (static/rich_reply.js); empty without JavaScript.
    body_html = HiddenField(id="reply-body-html")
    cc = StringField(_l("Cc"), description=_l("Addresses separated by commas"))
    attachments = MultipleFileField(_l("Attachments"))
    # Checked by the service, so a tampered value gets the service's clear message.
    status = SelectField(
        _l("Then set the status to"),
        choices=_status_choices,
        default=TicketStatus.waiting.value,
        validate_choice=False,
    )
    seen_message_id = HiddenField()


class NoteForm(FlaskForm):
    # Not "body": the reply composer on the same page has that field id.
    note = TextAreaField(
        _l("Internal note"),
        description=_l("Only agents see notes. Mention someone with @name."),
        render_kw={"rows": 4},
    )


class AssignForm(FlaskForm):
    agent_id = SelectField(_l("Assignee"), validate_choice=False)
    expected_assignee_id = HiddenField()


class StatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=_status_choices, validate_choice=False)


class PriorityForm(FlaskForm):
    priority = SelectField(
        _l("Priority"),
        choices=lambda: [SelectChoice(p.value, label) for p, label in PRIORITY_LABELS.items()],
        validate_choice=False,
    )


class TagsForm(FlaskForm):
    tags = StringField(_l("Tags"), description=_l("Separated by commas"))


class MergeForm(FlaskForm):
    target_id = StringField(_l("Merge into ticket number"))


class ActionForm(FlaskForm):
    """A button that needs nothing but the CSRF token (retry, mark read)."""


CHANNEL_LABELS = {
    "email": _l("Send an email"),
    "phone": _l("Log a phone call"),
    "visit": _l("Log a visit"),
}


def _channel_choices():
    return [SelectChoice(value, label) for value, label in CHANNEL_LABELS.items()]


class NewTicketForm(FlaskForm):
    # Checked by the service (helpdesk.tickets.starting), like the ticket page's forms.
    channel = SelectField(
        _l("How"), choices=_channel_choices, default="email", validate_choice=False
    )
    to = StringField(_l("Customer email"))
    name = StringField(_l("Name"), description=_l("Used when the address is new"))
    mailbox_id = SelectField(_l("Send from"), validate_choice=False)
    subject = StringField(_l("Subject"))
    body = TextAreaField(
        _l("Message"),
        description=_l("For a call or visit: what was said; it is kept as an internal note."),
        render_kw={"rows": 8},
    )
