"""Saved replies: who sees and edits which, the checks on save, and rendering one for a
ticket when an agent inserts it (which counts the use, like an inserted FAQ answer).

Shared replies are every agent's and only admins write them; an agent's personal
replies are theirs, and an admin may share one. Bodies are templates agents write, so
they render in the bounded sandbox with plain strings only; a body that does not render
with sample values (a syntax error, an unknown placeholder) is refused on save.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import StrictUndefined
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from helpdesk.auth.models import Role, User
from helpdesk.customers.models import Customer
from helpdesk.db import utcnow
from helpdesk.mail.models import Mailbox
from helpdesk.saved_replies.models import SavedReply, SavedReplyUse
from helpdesk.template_sandbox import (
    RENDER_ERRORS,
    BoundedSandbox,
    error_detail,
    render_problem,
    render_text,
)
from helpdesk.text import lazy_text as _l
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.service import get_ticket

MAX_TITLE = 200
MAX_FOLDER = 100
MAX_BODY = 10_000
PICKER_LIMIT = 30
# What a body may use, with the value the save check renders it with.
PLACEHOLDERS = {
    "customer_name": "Kim Minji",
    "customer_first_name": "Minji",
    "ticket_number": "1234",
    "ticket_subject": "Order status",
    "agent_name": "Alex Agent",
    "mailbox_name": "Support",
}

_env = BoundedSandbox(autoescape=False, undefined=StrictUndefined)


class SavedReplyInvalid(ValueError):
    """Refused input; ``errors`` maps each offending form field name to its message."""

    def __init__(self, errors: dict[str, object]):
        self.errors = errors
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))


class SavedReplyNotFound(LookupError):
    """No such saved reply, or not one this user may see."""


class NotAllowed(PermissionError):
    """The user may see the saved reply but not change it."""


@dataclass(frozen=True)
class SavedReplyData:
    title: str
    folder: str
    body: str
    shared: bool


@dataclass(frozen=True)
class Inserted:
    text: str
    used_in_replies: int


def _is_admin(user: User) -> bool:
    return user.role == Role.admin


def _visible(user: User):
    """Shared replies and the user's own; an admin sees every agent's too."""
    if _is_admin(user):
        return True
    return or_(SavedReply.owner_id.is_(None), SavedReply.owner_id == user.id)


def can_edit(user: User, reply: SavedReply) -> bool:
    return _is_admin(user) or reply.owner_id == user.id


def list_for_management(session: Session, user: User) -> list[SavedReply]:
    return list(
        session.scalars(
            select(SavedReply)
            .where(_visible(user))
            .order_by(SavedReply.folder, func.lower(SavedReply.title), SavedReply.id)
        )
    )


def owner_names(session: Session, replies: list[SavedReply]) -> dict[int, str]:
    ids = {reply.owner_id for reply in replies if reply.owner_id is not None}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def folder_names(session: Session, user: User) -> list[str]:
    return list(
        session.scalars(
            select(SavedReply.folder)
            .where(_visible(user), SavedReply.folder != "")
            .distinct()
            .order_by(SavedReply.folder)
        )
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(session: Session, user: User, text: str) -> list[SavedReply]:
    """The picker's list: shared replies and the user's own whose title, folder or body
    holds `text`, the most used first."""
    query = select(SavedReply).where(
        or_(SavedReply.owner_id.is_(None), SavedReply.owner_id == user.id)
    )
    words = text.split()[:5]
    for word in words:
        pattern = f"%{_escape_like(word.lower())}%"
        query = query.where(
            or_(
                func.lower(SavedReply.title).like(pattern, escape="\\"),
                func.lower(SavedReply.folder).like(pattern, escape="\\"),
                func.lower(SavedReply.body).like(pattern, escape="\\"),
            )
        )
    order = (SavedReply.used_in_replies.desc(), func.lower(SavedReply.title), SavedReply.id)
    return list(session.scalars(query.order_by(*order).limit(PICKER_LIMIT)))


def get_visible(session: Session, user: User, reply_id: int) -> SavedReply:
    reply = session.scalars(
        select(SavedReply).where(SavedReply.id == reply_id, _visible(user))
    ).first()
    if reply is None:
        raise SavedReplyNotFound(reply_id)
    return reply


def _editable(session: Session, user: User, reply_id: int) -> SavedReply:
    reply = get_visible(session, user, reply_id)
    if not can_edit(user, reply):
        raise NotAllowed(reply_id)
    return reply


def body_problem(body: str) -> object | None:
    """Why a body cannot be saved, or None."""
    if not body.strip():
        return _l("Write the reply text.")
    if len(body) > MAX_BODY:
        return _l("Use at most %(n)d characters.", n=MAX_BODY)
    line, detail = render_problem(_env, body, PLACEHOLDERS)
    if line:
        return _l("Template error on line %(line)d: %(detail)s", line=line, detail=detail)
    return _l("Template error: %(detail)s", detail=detail) if detail else None


def _clean(user: User, data: SavedReplyData) -> dict[str, object]:
    errors: dict[str, object] = {}
    title = " ".join(data.title.split())
    if not title:
        errors["title"] = _l("Give the reply a title.")
    elif len(title) > MAX_TITLE:
        errors["title"] = _l("Use at most %(n)d characters.", n=MAX_TITLE)
    folder = " ".join(data.folder.split())
    if len(folder) > MAX_FOLDER:
        errors["folder"] = _l("Use at most %(n)d characters.", n=MAX_FOLDER)
    body = data.body.strip()
    problem = body_problem(body)
    if problem:
        errors["body"] = problem
    if data.shared and not _is_admin(user):
        errors["shared"] = _l("Only admins share saved replies.")
    if errors:
        raise SavedReplyInvalid(errors)
    return {"title": title, "folder": folder, "body": body}


def create(session: Session, user: User, data: SavedReplyData) -> SavedReply:
    values = _clean(user, data)
    reply = SavedReply(
        **values,
        owner_id=None if data.shared else user.id,
        created_by_id=user.id,
        used_in_replies=0,
    )
    session.add(reply)
    session.flush()
    return reply


def update_reply(session: Session, user: User, reply_id: int, data: SavedReplyData) -> SavedReply:
    reply = _editable(session, user, reply_id)
    values = _clean(user, data)
    for key, value in values.items():
        setattr(reply, key, value)
    if data.shared:
        reply.owner_id = None
    elif reply.owner_id is None:
        reply.owner_id = user.id  # an admin takes a shared reply back as their own
    reply.updated_at = utcnow()
    session.flush()
    return reply


def delete_reply(session: Session, user: User, reply_id: int) -> None:
    session.delete(_editable(session, user, reply_id))
    session.flush()


def placeholders_for(session: Session, ticket: Ticket, agent: User) -> dict[str, str]:
    """The placeholder values for a reply by `agent` on `ticket`: plain strings only."""
    customer = session.get(Customer, ticket.customer_id)
    mailbox = session.get(Mailbox, ticket.mailbox_id) if ticket.mailbox_id else None
    name = customer.name or customer.email.split("@")[0]
    return {
        "customer_name": name,
        "customer_first_name": customer.given_name or name,
        "ticket_number": str(ticket.id),
        "ticket_subject": ticket.subject or "",
        "agent_name": agent.name,
        "mailbox_name": mailbox.name if mailbox else "",
    }


def insert_into_reply(session: Session, user: User, reply_id: int, ticket_id: int) -> Inserted:
    """The saved reply rendered for the ticket, and the use counted; raises
    SavedReplyNotFound, or helpdesk.tickets.service.TicketNotFound."""
    reply = get_visible(session, user, reply_id)
    ticket = get_ticket(session, ticket_id)
    context = placeholders_for(session, ticket, user)
    try:
        text = render_text(_env, reply.body, context)
    except RENDER_ERRORS as exc:
        _line, detail = error_detail(exc)
        raise SavedReplyInvalid({"body": _l("Template error: %(detail)s", detail=detail)}) from None
    session.execute(
        update(SavedReply)
        .where(SavedReply.id == reply.id)
        .values(used_in_replies=SavedReply.used_in_replies + 1)
        .execution_options(synchronize_session=False)
    )
    session.add(SavedReplyUse(saved_reply_id=reply.id, ticket_id=ticket.id, user_id=user.id))
    session.flush()
    session.refresh(reply)
    return Inserted(text=text, used_in_replies=reply.used_in_replies)
