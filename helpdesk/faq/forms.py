"""Forms for FAQ articles and categories (staff) and the public vote form.

Length limits repeat the service's, so the page can say so next to the field; the
service checks everything again and is the authority.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, NumberRange, Optional

from helpdesk.faq.service import MAX_BODY, MAX_SLUG, MAX_TAGS, MAX_TITLE

LANGUAGE_CHOICES = [SelectChoice("ko", _l("Korean")), SelectChoice("en", _l("English"))]
STATUS_CHOICES = [SelectChoice("draft", _l("Draft")), SelectChoice("published", _l("Published"))]


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class ArticleForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Length(max=MAX_TITLE)])
    slug = StringField(
        _l("Address"),
        description=_l("The end of the page address. Leave empty to make one from the title."),
        validators=[Length(max=MAX_SLUG)],
    )
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    category_id = SelectField(_l("Category"), coerce=_optional_int, choices=[])
    tags = StringField(
        _l("Tags"), description=_l("Separate tags with commas."), validators=[Length(max=MAX_TAGS)]
    )
    status = SelectField(_l("Status"), choices=STATUS_CHOICES)
    body = TextAreaField(
        _l("Answer"),
        description=_l("Markdown: **bold**, *italic*, - lists, [links](https://...)."),
        validators=[Length(max=MAX_BODY)],
    )

    def set_categories(self, categories) -> None:
        self.category_id.choices = [SelectChoice(None, _l("No category"))] + [
            SelectChoice(c.id, c.name) for c in categories
        ]


class CategoryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=200)])
    description = StringField(_l("Description"), validators=[Length(max=500)])
    position = IntegerField(
        _l("Order"),
        description=_l("Lower numbers come first."),
        default=0,
        validators=[Optional(), NumberRange(min=-10000, max=10000)],
    )


class VoteForm(FlaskForm):
    pass
