"""Forms for login, preferences and user management (WTForms adds the CSRF token)."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from helpdesk.auth.models import Role
from helpdesk.auth.service import MAX_SIGNATURE, MIN_PASSWORD_LENGTH
from helpdesk.text import LANGUAGES

ROLE_CHOICES = [
    SelectChoice(Role.admin.value, _l("Admin")),
    SelectChoice(Role.agent.value, _l("Agent")),
    SelectChoice(Role.marketer.value, _l("Marketer")),
]


# Files in the zoneinfo directory that are not places people live.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


def timezone_choices() -> list[SelectChoice]:
    return [SelectChoice(zone) for zone in sorted(available_timezones() - _NOT_ZONES)]


class LoginForm(FlaskForm):
    email = StringField(_l("Email"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])


class PreferencesForm(FlaskForm):
    language = SelectField(
        _l("Language"),
        choices=[SelectChoice("", _l("Browser default"))]
        + [SelectChoice(code, name) for code, name in LANGUAGES.items()],
    )
    timezone = SelectField(_l("Time zone"), choices=timezone_choices())
    signature = TextAreaField(
        _l("Signature in English"),
        validators=[Length(max=MAX_SIGNATURE)],
        render_kw={"rows": 4, "lang": "en"},
        description=_l("Added under your replies, inside the mailbox's signature."),
    )
    signature_ko = TextAreaField(
        _l("Signature in Korean"),
        validators=[Length(max=MAX_SIGNATURE)],
        render_kw={"rows": 4, "lang": "ko"},
        description=_l(
            "Used for replies in Korean. A reply goes out in the customer's language, else in"
            " the mailbox's; when one of the two is empty, the other is used."
        ),
    )


class NewUserForm(FlaskForm):
    email = StringField(_l("Email"), validators=[DataRequired(), Email(), Length(max=320)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=10, max=1000)])
    is_manager = BooleanField(_l("Manager (sees the dashboard)"))


class EditUserForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    is_active = BooleanField(_l("Active"))
    is_manager = BooleanField(_l("Manager (sees the dashboard)"))
    password = PasswordField(
        _l("New password (leave empty to keep)"), validators=[Optional(), Length(min=10, max=1000)]
    )


# Own password and password reset.


def _new_password_fields():
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1000)],
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", _l("The two passwords differ."))],
    )
    return new, confirm


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=1000)]
    )
    new_password, confirm_password = _new_password_fields()


class ResetPasswordForm(FlaskForm):
    new_password, confirm_password = _new_password_fields()


class ForgotPasswordForm(FlaskForm):
    email = StringField(_l("Email"), validators=[DataRequired(), Email(), Length(max=320)])
