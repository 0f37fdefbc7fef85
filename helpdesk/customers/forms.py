"""Forms for customers, custom field definitions, purchases and contact notes.

Fields are plain text where the service parses the value, so every rule and its message
lives in one place (the service) and the CSV importer gets the same answers.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from helpdesk.customers.models import CustomField, FieldType, NoteKind, SubscriptionStatus

STATUS_CHOICES = [
    SelectChoice(SubscriptionStatus.not_subscribed.value, _l("Not subscribed")),
    SelectChoice(SubscriptionStatus.subscribed.value, _l("Subscribed")),
    SelectChoice(SubscriptionStatus.unsubscribed.value, _l("Unsubscribed")),
]
FIELD_TYPE_CHOICES = [
    SelectChoice(FieldType.text.value, _l("Text")),
    SelectChoice(FieldType.number.value, _l("Number")),
    SelectChoice(FieldType.date.value, _l("Date")),
    SelectChoice(FieldType.boolean.value, _l("Yes / no")),
    SelectChoice(FieldType.choice.value, _l("Choice from a list")),
]
NOTE_KIND_CHOICES = [
    SelectChoice(NoteKind.call.value, _l("Call")),
    SelectChoice(NoteKind.meeting.value, _l("Meeting")),
    SelectChoice(NoteKind.chat.value, _l("Chat")),
    SelectChoice(NoteKind.other.value, _l("Other")),
]
NOT_SET = SelectChoice("", _l("— not set —"))
CUSTOM_FIELD_PREFIX = "cf_"


class CustomerForm(FlaskForm):
    email = StringField(_l("Email"), validators=[Length(max=320)])
    name = StringField(_l("Name"), validators=[Length(max=200)])
    given_name = StringField(_l("Given name"), validators=[Length(max=200)])
    family_name = StringField(
        _l("Family name"),
        description=_l(
            "Leave both empty to take them from the name: in Korean names the family name "
            "comes first (김민준: 김 and 민준), in Western names last."
        ),
        validators=[Length(max=200)],
    )
    phone = StringField(_l("Phone"), validators=[Length(max=50)])
    company = StringField(_l("Company"), validators=[Length(max=200)])
    tags = StringField(
        _l("Tags"), description=_l("Separate tags with commas."), validators=[Length(max=2000)]
    )
    subscription_status = SelectField(_l("Newsletter"), choices=STATUS_CHOICES)
    consent_source = StringField(
        _l("Consent source"),
        description=_l("Where the customer agreed to receive newsletters, e.g. signup form."),
        validators=[Length(max=100)],
    )

    def custom_fields(self):
        return [f for f in self if f.name.startswith(CUSTOM_FIELD_PREFIX)]

    def custom_values(self) -> dict[str, str]:
        return {
            f.name.removeprefix(CUSTOM_FIELD_PREFIX): f.data or "" for f in self.custom_fields()
        }


def customer_form_class(custom_fields: list[CustomField]) -> type[CustomerForm]:
    """A CustomerForm with one input per custom field, named cf_<key>."""

    class Form(CustomerForm):
        pass

    for custom_field in custom_fields:
        setattr(Form, CUSTOM_FIELD_PREFIX + custom_field.key, _input_for(custom_field))
    return Form


def _input_for(custom_field: CustomField):
    label = custom_field.label
    match custom_field.field_type:
        case FieldType.choice:
            choices = [NOT_SET] + [SelectChoice(c) for c in custom_field.choices]
            return SelectField(label, choices=choices, validate_choice=False)
        case FieldType.boolean:
            choices = [NOT_SET, SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))]
            return SelectField(label, choices=choices, validate_choice=False)
        case FieldType.date:
            return StringField(label, render_kw={"type": "date", "placeholder": "YYYY-MM-DD"})
        case FieldType.number:
            return StringField(label, render_kw={"inputmode": "decimal"})
    return StringField(label)


class CustomFieldForm(FlaskForm):
    label = StringField(_l("Label"), validators=[Length(max=200)])
    key = StringField(
        _l("Key"),
        description=_l(
            "Used in CSV import/export and segments: lower-case letters, digits and underscores."
        ),
        validators=[Length(max=64)],
    )
    field_type = SelectField(_l("Type"), choices=FIELD_TYPE_CHOICES)
    choices = TextAreaField(
        _l("Choices"),
        description=_l("For a choice field: one choice per line."),
        validators=[Length(max=10_000)],
    )
    position = IntegerField(
        _l("Order"),
        default=0,
        description=_l("Fields with a smaller number come first."),
        validators=[Optional(), NumberRange(min=-10_000, max=10_000)],
    )


class PurchaseForm(FlaskForm):
    product = StringField(_l("Product"), validators=[Length(max=200)])
    quantity = StringField(_l("Quantity"), default="1", render_kw={"inputmode": "numeric"})
    amount = StringField(
        _l("Amount"),
        description=_l("Total paid for this line."),
        render_kw={"inputmode": "decimal"},
    )
    currency = StringField(
        _l("Currency"), render_kw={"maxlength": 3, "placeholder": "KRW", "autocapitalize": "on"}
    )
    purchased_at = StringField(_l("Date"), render_kw={"type": "date"})
    order_ref = StringField(_l("Order reference"), validators=[Length(max=100)])


class NoteForm(FlaskForm):
    kind = SelectField(_l("Type"), choices=NOTE_KIND_CHOICES)
    happened_at = StringField(_l("When"), render_kw={"type": "datetime-local"})
    body = TextAreaField(_l("Note"), validators=[Length(max=10_000)])


class DeleteForm(FlaskForm):
    """Only the CSRF token: the confirmation page posts it back."""
