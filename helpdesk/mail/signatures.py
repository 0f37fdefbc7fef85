"""The signature under an agent's reply: the mailbox's signature, a template that admins
write and that renders in the bounded sandbox, with the agent's own signature inside it.

Agents and mailboxes each have an English and a Korean text. A reply is signed in the
customer's language where it is known, else in the mailbox's language of replies; a text
left empty in that language is taken from the other language, so a team that writes only
one still signs every reply.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import StrictUndefined

from helpdesk.auth.models import User
from helpdesk.mail.models import Mailbox
from helpdesk.template_sandbox import RENDER_ERRORS, BoundedSandbox, render_problem, render_text
from helpdesk.text import LazyText
from helpdesk.text import lazy_text as _l

MAX_SIGNATURE = 2000
# RFC 3676 4.3: mail clients recognize "-- " on its own line as the start of a signature.
SEPARATOR = "-- "
PLACEHOLDERS = ("agent_signature", "agent_name", "mailbox_name")
REPLY_LANGUAGES = ("en", "ko")
DEFAULT_REPLY_LANGUAGE = "en"

_env = BoundedSandbox(autoescape=False, undefined=StrictUndefined)
_SAMPLE = {"agent_signature": "Alex", "agent_name": "Alex", "mailbox_name": "Support"}


def signature_problem(source: str) -> LazyText | None:
    """Why a mailbox signature cannot be saved, or None: too long, or a template that
    does not compile or render (an unknown placeholder too)."""
    if len(source) > MAX_SIGNATURE:
        return _l("Use at most %(n)d characters.", n=MAX_SIGNATURE)
    line, detail = render_problem(_env, source, _SAMPLE)
    if line:
        return _l("Template error on line %(line)d: %(detail)s", line=line, detail=detail)
    return _l("Template error: %(detail)s", detail=detail) if detail else None


@dataclass(frozen=True)
class Signature:
    """The signature text and the language it reads in: the one asked for, or the other
    when every part of it was empty in the one asked for."""

    text: str
    language: str


def reply_language(mailbox: Mailbox | None, customer_language: str | None) -> str:
    """The language a reply is signed in: the customer's if known, else the mailbox's."""
    if customer_language in REPLY_LANGUAGES:
        return customer_language
    language = mailbox.reply_language if mailbox else DEFAULT_REPLY_LANGUAGE
    return language if language in REPLY_LANGUAGES else DEFAULT_REPLY_LANGUAGE


def _in_language(english: str | None, korean: str | None, language: str) -> tuple[str, str]:
    """The text in `language`, or in the other language when that one is empty, and the
    language of the text returned."""
    texts = {"en": (english or "").strip(), "ko": (korean or "").strip()}
    if texts[language]:
        return texts[language], language
    other = "en" if language == "ko" else "ko"
    return texts[other], other


def reply_signature(mailbox: Mailbox | None, agent: User, language: str = "en") -> Signature:
    """The signature for `agent`'s reply from `mailbox` in `language`: the mailbox's with
    the agent's in place of {{ agent_signature }}, or the agent's above it; "" text when
    neither has one."""
    own, own_language = _in_language(agent.signature, agent.signature_ko, language)
    template, template_language = (
        _in_language(mailbox.signature, mailbox.signature_ko, language) if mailbox else ("", "")
    )
    used = {lang for lang, text in ((own_language, own), (template_language, template)) if text}
    shown = language if language in used or not used else used.pop()
    if not template:
        return Signature(own, shown)
    context = {"agent_signature": own, "agent_name": agent.name, "mailbox_name": mailbox.name}
    try:
        rendered = render_text(_env, template, context).strip()
    except RENDER_ERRORS:
        rendered = ""  # it rendered when saved; the reply still goes out with the agent's
    if "agent_signature" in template:
        return Signature(rendered, shown)
    return Signature("\n\n".join(part for part in (own, rendered) if part), shown)


def signed(text: str, signature: str) -> str:
    """The reply text with the signature under the RFC 3676 separator."""
    return f"{text}\n\n{SEPARATOR}\n{signature}" if signature else text
