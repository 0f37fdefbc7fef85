"""The signature under an agent's reply: the mailbox's signature, a template that admins
write and that renders in the bounded sandbox, with the agent's own signature inside it.

One text serves both languages: the helpdesk knows no language of a customer or a
ticket, so a team writes its signature the way it wants every customer to read it
(a Korean team often puts both, one line each).
"""

from __future__ import annotations

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


def reply_signature(mailbox: Mailbox | None, agent: User) -> str:
    """The signature for `agent`'s reply from `mailbox`: the mailbox's with the agent's in
    place of {{ agent_signature }}, or the agent's above it; "" when neither has one."""
    own = (agent.signature or "").strip()
    template = (mailbox.signature if mailbox else "").strip()
    if not template:
        return own
    context = {"agent_signature": own, "agent_name": agent.name, "mailbox_name": mailbox.name}
    try:
        rendered = render_text(_env, template, context).strip()
    except RENDER_ERRORS:
        rendered = ""  # it rendered when saved; the reply still goes out with the agent's
    if "agent_signature" in template:
        return rendered
    return "\n\n".join(part for part in (own, rendered) if part)


def signed(text: str, signature: str) -> str:
    """The reply text with the signature under the RFC 3676 separator."""
    return f"{text}\n\n{SEPARATOR}\n{signature}" if signature else text
