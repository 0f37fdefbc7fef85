"""Translatable text for modules that must not import Flask (services, jobs).

``lazy_text("Ticket #%(id)d does not exist.", id=7)`` is extracted into the catalogue
like ``lazy_gettext`` (services import it as ``_l``) and becomes text only when it is
turned into a string: in a request, in the viewer's language, through the translator
the web app installs at start (helpdesk.i18n); in jobs, the CLI and logs, in English.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import escape

# The interface languages, by code, each named in its own language (helpdesk.i18n picks
# one per request).
LANGUAGES = {"en": "English", "ko": "한국어"}


def _english(msgid: str) -> str:
    return msgid


def _english_plural(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


_translate: Callable[[str], str] = _english
_translate_plural: Callable[[str, str, int], str] = _english_plural


def install_translator(
    translate: Callable[[str], str],
    translate_plural: Callable[[str, str, int], str] = _english_plural,
) -> None:
    global _translate, _translate_plural
    _translate = translate
    _translate_plural = translate_plural


class LazyText:
    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, params: dict[str, Any]) -> None:
        self.msgid = msgid
        self.params = params

    def __str__(self) -> str:
        text = _translate(self.msgid)
        return text % self.params if self.params else text

    def __html__(self) -> str:
        return str(escape(str(self)))

    def __repr__(self) -> str:
        return f"lazy_text({self.msgid!r})"

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __len__(self) -> int:
        return len(str(self))

    def __contains__(self, item: str) -> bool:
        return item in str(self)

    def __add__(self, other: str) -> str:
        return str(self) + other

    def __radd__(self, other: str) -> str:
        return other + str(self)

    def __getattr__(self, name: str) -> Any:
        # str methods (startswith, format, ...) on the text in the current language.
        if name.startswith("__") or name in LazyText.__slots__:
            raise AttributeError(name)
        return getattr(str(self), name)


class LazyPlural(LazyText):
    """The singular or a plural form, chosen by the count in the viewer's language (Korean
    has one form, English two)."""

    __slots__ = ("plural", "n")

    def __init__(self, singular: str, plural: str, n: int, params: dict[str, Any]) -> None:
        super().__init__(singular, {"num": n, **params})
        self.plural = plural
        self.n = n

    def __str__(self) -> str:
        return _translate_plural(self.msgid, self.plural, self.n) % self.params


def lazy_text(msgid: str, **params: Any) -> LazyText:
    return LazyText(msgid, params)


def lazy_ngettext(singular: str, plural: str, n: int, **params: Any) -> LazyPlural:
    """Like ``lazy_text`` for a sentence with a count: ``%(num)d`` in it is the count."""
    return LazyPlural(singular, plural, n, params)
