"""Forms of two-factor login: a code, turning it off, and the admin's policy."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


def _code_field(label):
    return StringField(label, validators=[DataRequired(), Length(max=64)])


class CodeForm(FlaskForm):
    code = _code_field(_l("Code"))


class TurnOffForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])
    code = _code_field(_l("Code from your app or a recovery code"))


class PolicyForm(FlaskForm):
    enforced = BooleanField(_l("Every staff member must use two-factor login"))
