"""Forms of the segment and campaign editor pages; the service checks the values."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from helpdesk.auth.forms import timezone_choices


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
    sending_identity_id = SelectField(_l("Send from"), choices=[], validate_choice=False)
    advertising = BooleanField(
        _l("Advertising"),
        description=_l(
            "Adds “(광고)” to the subject and the Korean advertising footer; at night it "
            "follows the night-time rule of the Senders page."
        ),
    )
    segment_id = SelectField(_l("Segment"), choices=[], validate_choice=False)
    html_body = TextAreaField(
        _l("HTML body"),
        description=_l(
            "Jinja2 placeholders such as {{ customer.salutation }}, {{ customer.given_name }}, "
            "{{ customer.custom.plan }} and {{ unsubscribe_url }}; all of them are listed under "
            "Personalization."
        ),
        validators=[Length(max=1_000_000)],
    )
    text_body = TextAreaField(
        _l("Plain-text body"),
        description=_l("Leave empty to generate it from the HTML."),
        validators=[Length(max=1_000_000)],
    )
    hold_action = SelectField(
        _l("When the marketing rules hold a message back"),
        choices=[
            SelectChoice("defer", _l("Send it when the rules allow it again")),
            SelectChoice("skip", _l("Do not send it")),
        ],
        default="defer",
        validate_choice=False,
        description=_l("The frequency cap and quiet hours are set under Marketing rules."),
    )


# What the editor lists under "Personalization": each placeholder and what it gives.
TEMPLATE_VARIABLES = (
    ("customer.name", _l("The name as stored, e.g. 김민준 or Mary Ann Smith.")),
    (
        "customer.given_name",
        _l(
            "The given name: 민준 for 김민준, Mary Ann for Mary Ann Smith. "
            "Also customer.first_name."
        ),
    ),
    (
        "customer.family_name",
        _l("The family name: 김 for 김민준, Smith for Mary Ann Smith. Also customer.last_name."),
    ),
    (
        "customer.salutation",
        _l(
            "A greeting with its comma, in the language of the name: “김민준 님,” for a name in "
            "Hangul, “Hi Mary Ann,” for others. Without a name: “고객님,” in a campaign written "
            "in Korean, else “Hello,”."
        ),
    ),
    (
        "customer.salutation_ko",
        _l("The greeting always in Korean: “김민준 님,”, “Mary Ann Smith 님,” or “고객님,”."),
    ),
    (
        "customer.salutation_en",
        _l("The greeting always in English: “Hi 민준,”, “Hi Mary Ann,” or “Hello,”."),
    ),
    ("customer.email", _l("The email address.")),
    ("customer.company", _l("The company.")),
    ("customer.phone", _l("The phone number.")),
    ("customer.custom.plan", _l("A custom field by its key (here: plan); empty when not set.")),
    (
        "customer.purchases.total",
        _l("Purchases: also .count, .last_product and .last_date."),
    ),
    (
        "customer.purchases.total|money('KRW')",
        _l(
            "An amount with its currency as the customer's language writes it: ₩240,000; "
            "money('USD') gives $2,400.00."
        ),
    ),
    (
        "customer.purchases.last_date|date",
        _l("A date in the customer's language; date('short') or date('full') for other lengths."),
    ),
    (
        "customer.created_at|datetime",
        _l("A date and time in the customer's time zone and language."),
    ),
    ("unsubscribe_url", _l("The customer's own unsubscribe link.")),
    ("view_in_browser_url", _l("The link to this mail on the web.")),
)


class TestSendForm(FlaskForm):
    addresses = StringField(
        _l("Send a test to"), description=_l("Up to 10 addresses, separated by commas.")
    )
    customer_id = HiddenField()


class ScheduleForm(FlaskForm):
    send_at = StringField(_l("Send at"))


class MarketingRulesForm(FlaskForm):
    cap_enabled = BooleanField(_l("Limit how many marketing messages a customer gets"))
    cap_messages = StringField(_l("At most this many messages"))
    cap_days = StringField(_l("In any period of this many days"))
    quiet_enabled = BooleanField(_l("Keep quiet hours"))
    quiet_start = StringField(_l("Quiet from"))
    quiet_end = StringField(_l("Quiet until"))
    timezone = SelectField(
        _l("Time zone of the quiet hours"),
        choices=timezone_choices(),
        validate_choice=False,
        description=_l(
            "Customers have no time zone of their own yet, so quiet hours follow this one."
        ),
    )
