"""User-visible text from the customer services without Flask: a message id and its values.

Services build messages with ``N_("%(label)s must be a number.", label=...)``; Babel's
extractor knows ``N_`` by default, so the text lands in the catalogue. The page that
shows a message translates it in the viewer's language (``translate`` in the views, the
``translate`` template filter); ``str()`` gives the English text for logs and jobs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Message:
    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, gettext: Callable[[str], str]) -> str:
        text = gettext(self.msgid)
        if not self.params:
            return text
        # A value may be a message itself ("%(kind)s by %(author)s" with kind "Phone call").
        return text % {
            key: value.render(gettext) if isinstance(value, Message) else value
            for key, value in self.params.items()
        }

    def __str__(self) -> str:
        return self.render(lambda msgid: msgid)


def N_(msgid: str, **params: Any) -> Message:  # noqa: N802 - the name gettext tools know
    return Message(msgid, params)
