"""Forms of the segment and campaign editor pages; the service checks the values."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Length


class SegmentForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=2000)])
    rules = TextAreaField(
        _l("Rules (JSON)"),
        description=_l("The rule builder above writes this; you may also edit it by hand."),
        validators=[Length(max=100_000)],
    )


class CampaignForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=200)])
    subject = StringField(_l("Subject"), validators=[Length(max=998)])
    from_name = StringField(_l("From name"), validators=[Length(max=200)])
    from_email = StringField(_l("From address"), validators=[Length(max=320)])
    reply_to = StringField(_l("Reply-to"), validators=[Length(max=320)])
    segment_id = SelectField(_l("Segment"), choices=[], validate_choice=False)
    html_body = TextAreaField(
        _l("HTML body"),
        description=_l(
            "Jinja2 placeholders: {{ customer.name }}, {{ customer.custom.plan }}, "
            "{{ customer.purchases.total }}, {{ unsubscribe_url }}, {{ view_in_browser_url }}."
        ),
        validators=[Length(max=1_000_000)],
    )
    text_body = TextAreaField(
        _l("Plain-text body"),
        description=_l("Leave empty to generate it from the HTML."),
        validators=[Length(max=1_000_000)],
    )


class TestSendForm(FlaskForm):
    addresses = StringField(
        _l("Send a test to"), description=_l("Up to 10 addresses, separated by commas.")
    )
    customer_id = HiddenField()


class ScheduleForm(FlaskForm):
    send_at = StringField(_l("Send at"))
