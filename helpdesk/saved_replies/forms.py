"""The saved reply form; the service checks every value, so the rules live in one place."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import Length

from helpdesk.saved_replies.service import MAX_BODY, MAX_FOLDER, MAX_TITLE


class SavedReplyForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Length(max=MAX_TITLE)])
    folder = StringField(
        _l("Folder"),
        validators=[Length(max=MAX_FOLDER)],
        description=_l("Replies with the same folder are listed together."),
    )
    body = TextAreaField(
        _l("Text"),
        validators=[Length(max=MAX_BODY)],
        render_kw={"rows": 10},
        description=_l(
            "Placeholders: {{ customer_name }}, {{ customer_first_name }}, {{ ticket_number }},"
            " {{ ticket_subject }}, {{ agent_name }}, {{ mailbox_name }}."
        ),
    )
    shared = BooleanField(_l("Shared with every agent"))
