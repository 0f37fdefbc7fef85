"""What agents do with one ticket: assign, status, priority, tags, notes, replies, merges.

Rules that must hold with several agents at once hold in the database. Assignment is a
conditional UPDATE with a row count check. A reply locks the ticket row (SELECT ... FOR
UPDATE on PostgreSQL; on SQLite every transaction starts with BEGIN IMMEDIATE, which
serializes writers), checks that nothing newer than what the agent saw exists and inserts
itself in that same transaction, so two agents never both answer the same message.

Functions flush and leave the commit to the caller. Messages are lazy strings: they show
in the viewer's language on a page and in English in jobs and logs.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import SequenceMatcher

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from helpdesk.auth.models import Role, User
from helpdesk.customers import service as customer_service
from helpdesk.customers.models import Customer, CustomField
from helpdesk.customers.timeline import TimelineEntry, customer_timeline
from helpdesk.db import utcnow
from helpdesk.faq.service import record_resolution
from helpdesk.mail.models import Mailbox, RawMessage
from helpdesk.normalize import InvalidEmail, normalize_email, normalize_tags
from helpdesk.text import lazy_text as _l
from helpdesk.tickets import sla
from helpdesk.tickets.customer_campaigns import recent_campaigns
from helpdesk.tickets.models import (
    DONE_STATUSES,
    Attachment,
    AttachmentBlob,
    Mention,
    Message,
    MessageKind,
    Participant,
    Priority,
    SendStatus,
    Ticket,
    TicketStatus,
)
from helpdesk.tickets.threading import make_body_marker, make_message_id

# An agent must have seen every message of these kinds before replying; events
# (assigned, status changed) and automatic mail do not change what the answer should say.
CONVERSATION_KINDS = (MessageKind.customer, MessageKind.reply, MessageKind.note)
SUPPORT_ROLES = (Role.admin, Role.agent)
STATUS_AFTER_REPLY = TicketStatus.waiting
MAX_BODY = 100_000
MAX_CC = 20
MAX_TAGS = 20
MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
MAX_REFERENCES = 20
DUPLICATE_WINDOW = timedelta(days=14)
SIMILAR_SUBJECT = 0.85
SIMILAR_TEXT = 0.9
_COMPARED_TEXT = 2000
CONTENT_TYPE_PATTERN = re.compile(
    r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$"
)
_FILENAME_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")
_SUBJECT_PREFIX = re.compile(
    r"^\s*(re|fw|fwd|aw|wg|sv|vs|tr|답장|회신|전달)\s*(\[\d+\])?\s*[:：]\s*", re.IGNORECASE
)
_SUBJECT_TOKEN = re.compile(r"\[#\d+\]")


# --- errors --------------------------------------------------------------------------


class TicketActionError(ValueError):
    """A refused action; ``message`` is what the agent is shown."""

    def __init__(self, message: object):
        self.message = message
        super().__init__(str(message))


class TicketNotFound(TicketActionError):
    pass


class InvalidInput(TicketActionError):
    """Bad input; ``field`` names the form field it belongs to, when there is one."""

    def __init__(self, message: object, field: str | None = None):
        self.field = field
        super().__init__(message)


class UnknownAgent(InvalidInput):
    pass


class TicketMerged(TicketActionError):
    def __init__(self, ticket: Ticket):
        self.ticket_id = ticket.id
        self.merged_into_id = ticket.merged_into_id
        super().__init__(
            _l(
                "Ticket #%(id)d was merged into #%(into)d; work on that ticket instead.",
                id=ticket.id,
                into=ticket.merged_into_id,
            )
        )


class AlreadyAssigned(TicketActionError):
    def __init__(self, holder: User | None):
        self.holder = holder
        if holder is None:
            message = _l("Someone else changed the assignment meanwhile: it is now unassigned.")
        else:
            message = _l("This ticket was already taken by %(name)s.", name=holder.name)
        super().__init__(message)


class ReplyConflict(TicketActionError):
    """Newer messages exist than the agent saw; nothing was sent."""

    def __init__(self, new_messages: list[Message], latest_message_id: int):
        self.new_messages = new_messages
        # Plain ids stay usable after the rollback that follows a refusal.
        self.new_message_ids = [m.id for m in new_messages]
        self.latest_message_id = latest_message_id
        super().__init__(
            _l(
                "Not sent: %(count)d new message(s) arrived while you were writing. "
                "Read them, then send your reply as it is or edit it.",
                count=len(new_messages),
            )
        )


class MergeRefused(InvalidInput):
    pass


class AttachmentNotFound(TicketActionError):
    pass


# --- small helpers -------------------------------------------------------------------


@dataclass(frozen=True)
class MailSettings:
    """What outgoing replies need from the configuration."""

    secret_key: str
    domain: str  # right-hand side of our Message-IDs


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    content: bytes


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise TicketNotFound(_l("Ticket #%(id)d does not exist.", id=ticket_id))
    return ticket


def _lock_tickets(session: Session, ticket_ids: Sequence[int]) -> dict[int, Ticket]:
    """Row locks in id order, so two merges of the same pair cannot deadlock."""
    rows = session.scalars(
        select(Ticket)
        .where(Ticket.id.in_(sorted(set(ticket_ids))))
        .order_by(Ticket.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found = {t.id: t for t in rows}
    for ticket_id in ticket_ids:
        if ticket_id not in found:
            raise TicketNotFound(_l("Ticket #%(id)d does not exist.", id=ticket_id))
    return found


def _lock_ticket(session: Session, ticket_id: int) -> Ticket:
    return _lock_tickets(session, [ticket_id])[ticket_id]


def _refuse_merged(ticket: Ticket) -> None:
    if ticket.merged_into_id is not None:
        raise TicketMerged(ticket)


def _changed(ticket: Ticket, now: datetime) -> None:
    # In SQL, so a concurrent change by ingest or another agent is never lost.
    ticket.version = Ticket.version + 1
    ticket.updated_at = now


def _event(session: Session, ticket_id: int, text: str, actor_id: int | None, now) -> Message:
    event = Message(
        ticket_id=ticket_id,
        kind=MessageKind.event,
        body_text=text,
        author_id=actor_id,
        created_at=now,
    )
    session.add(event)
    return event


def _agent(session: Session, agent_id: int | None) -> User:
    user = session.get(User, agent_id) if agent_id else None
    if user is None or not user.is_active or user.role not in SUPPORT_ROLES:
        raise UnknownAgent(_l("There is no active agent with that id."), field="agent_id")
    return user


def support_agents(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.is_active, User.role.in_(SUPPORT_ROLES))
            .order_by(User.name, User.id)
        )
    )


def user_names(session: Session, user_ids: Sequence[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.name).where(User.id.in_(user_ids)))
    return {user_id: name for user_id, name in rows}


def parse_status(value: str | None) -> TicketStatus:
    try:
        return TicketStatus((value or "").strip())
    except ValueError:
        raise InvalidInput(
            _l("%(value)r is not a ticket status.", value=value or ""), field="status"
        ) from None


def parse_priority(value: str | None) -> Priority:
    try:
        return Priority((value or "").strip())
    except ValueError:
        raise InvalidInput(
            _l("%(value)r is not a priority.", value=value or ""), field="priority"
        ) from None


# --- assignment ----------------------------------------------------------------------


def assign_ticket(
    session: Session,
    ticket_id: int,
    agent_id: int | None,
    *,
    actor_id: int,
    expected_assignee_id: int | None,
) -> Ticket:
    """Give the ticket to `agent_id` (None: unassign) if it is still held by whom the
    actor saw holding it (`expected_assignee_id`, None: unassigned).

    Two agents taking the same unassigned ticket at once both send
    ``UPDATE ... WHERE assignee_id IS NULL``; the database lets one of them match.
    """
    actor = _agent(session, actor_id)
    agent = _agent(session, agent_id) if agent_id is not None else None
    ticket = get_ticket(session, ticket_id)
    _refuse_merged(ticket)
    now = utcnow()
    held_as_seen = (
        Ticket.assignee_id.is_(None)
        if expected_assignee_id is None
        else Ticket.assignee_id == expected_assignee_id
    )
    taken = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, held_as_seen)
        .values(assignee_id=agent_id, version=Ticket.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(ticket)
    if not taken:
        if ticket.assignee_id == agent_id:
            return ticket  # a double click, or both picked the same agent: nothing to do
        holder = session.get(User, ticket.assignee_id) if ticket.assignee_id else None
        raise AlreadyAssigned(holder)
    if agent is None:
        text = f"Unassigned by {actor.name}."
    elif agent.id == actor.id:
        text = f"Taken by {actor.name}."
    else:
        text = f"Assigned to {agent.name} by {actor.name}."
    _event(session, ticket_id, text, actor.id, now)
    session.flush()
    return ticket


# --- status, priority, tags ----------------------------------------------------------


def _apply_status(ticket: Ticket, status: TicketStatus, now: datetime) -> None:
    ticket.status = status
    if status == TicketStatus.resolved:
        ticket.resolved_at = ticket.resolved_at or now
        ticket.closed_at = None
    elif status == TicketStatus.closed:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    else:
        ticket.resolved_at = None
        ticket.closed_at = None


def _credit_faq_if_done(session: Session, ticket: Ticket) -> None:
    """FAQ articles inserted into a ticket's replies count the tickets they helped solve."""
    if ticket.status in DONE_STATUSES:
        record_resolution(session, ticket.id)


def set_status(session: Session, ticket_id: int, status: str, *, actor_id: int) -> Ticket:
    new_status = parse_status(status)
    actor = _agent(session, actor_id)
    ticket = _lock_ticket(session, ticket_id)
    _refuse_merged(ticket)
    if ticket.status == new_status:
        return ticket
    now = utcnow()
    previous = ticket.status
    _apply_status(ticket, new_status, now)
    _credit_faq_if_done(session, ticket)
    sla.apply_sla(session, ticket, now)
    _changed(ticket, now)
    _event(session, ticket.id, f"Status {previous} → {new_status} by {actor.name}.", actor.id, now)
    session.flush()
    return ticket


def set_priority(session: Session, ticket_id: int, priority: str, *, actor_id: int) -> Ticket:
    new_priority = parse_priority(priority)
    actor = _agent(session, actor_id)
    ticket = _lock_ticket(session, ticket_id)
    _refuse_merged(ticket)
    if ticket.priority == new_priority:
        return ticket
    now = utcnow()
    previous = ticket.priority
    ticket.priority = new_priority
    sla.apply_sla(session, ticket, now)
    _changed(ticket, now)
    _event(
        session, ticket.id, f"Priority {previous} → {new_priority} by {actor.name}.", actor.id, now
    )
    session.flush()
    return ticket


def set_tags(session: Session, ticket_id: int, tags: str, *, actor_id: int) -> Ticket:
    names = normalize_tags(tags or "")
    if len(names) > MAX_TAGS:
        raise InvalidInput(_l("At most %(n)d tags per ticket.", n=MAX_TAGS), field="tags")
    _agent(session, actor_id)
    ticket = _lock_ticket(session, ticket_id)
    _refuse_merged(ticket)
    ticket.tags = customer_service.tags_named(session, names)
    _changed(ticket, utcnow())
    session.flush()
    return ticket


# --- notes and mentions --------------------------------------------------------------


def _clean_body(body: str | None, field_name: str, empty_message) -> str:
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput(empty_message, field=field_name)
    if len(text) > MAX_BODY:
        raise InvalidInput(
            _l("The text is too long (at most %(n)d characters).", n=MAX_BODY), field=field_name
        )
    return text


def _handle_pattern(handle: str) -> re.Pattern[str]:
    # Not after a word character, so the domain of an address in the text ("bob@alex.kr")
    # never mentions anyone.
    return re.compile(r"(?<![\w@.])@" + re.escape(handle.casefold()) + r"(?![\w])")


def mentioned_agents(session: Session, text: str) -> list[User]:
    """Agents named in the text as @Full Name, @FullName, @first-name (when no other
    agent shares it) or @local-part of their email address."""
    if "@" not in text:
        return []
    agents = support_agents(session)
    first_names: dict[str, int] = {}
    for agent in agents:
        first = agent.name.split()[0].casefold() if agent.name.split() else ""
        first_names[first] = first_names.get(first, 0) + 1
    folded = text.casefold()
    found = []
    for agent in agents:
        parts = agent.name.split()
        handles = {agent.email.rpartition("@")[0], agent.name, "".join(parts)}
        if parts and first_names.get(parts[0].casefold()) == 1:
            handles.add(parts[0])
        if any(h.strip() and _handle_pattern(h.strip()).search(folded) for h in handles):
            found.append(agent)
    return found


def add_note(session: Session, ticket_id: int, *, author_id: int, body: str) -> Message:
    """An internal note (never mailed); each @mentioned agent gets a Mention."""
    text = _clean_body(body, "body", _l("Write the note first."))
    author = _agent(session, author_id)
    ticket = _lock_ticket(session, ticket_id)
    _refuse_merged(ticket)
    now = utcnow()
    note = Message(
        ticket_id=ticket.id,
        kind=MessageKind.note,
        author_id=author.id,
        from_name=author.name[:200],
        from_email=author.email[:320],
        body_text=text,
        body_reply=text,
        created_at=now,
    )
    session.add(note)
    session.flush()
    for agent in mentioned_agents(session, text):
        if agent.id != author.id:
            session.add(Mention(message_id=note.id, ticket_id=ticket.id, user_id=agent.id))
    _changed(ticket, now)
    session.flush()
    return note


@dataclass(frozen=True)
class MentionEntry:
    mention: Mention
    ticket_id: int
    ticket_subject: str
    author_name: str
    excerpt: str


def mentions_of(session: Session, user_id: int, limit: int = 100) -> list[MentionEntry]:
    rows = session.execute(
        select(Mention, Ticket.subject, Message.from_name, Message.body_text)
        .join(Message, Message.id == Mention.message_id)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(Mention.user_id == user_id)
        .order_by(Mention.read_at.is_not(None), Mention.created_at.desc(), Mention.id.desc())
        .limit(limit)
    )
    return [
        MentionEntry(
            mention=mention,
            # Follows the note when its ticket was merged into another one.
            ticket_id=mention.ticket_id,
            ticket_subject=subject,
            author_name=author,
            excerpt=" ".join(body.split())[:280],
        )
        for mention, subject, author, body in rows
    ]


def unread_mentions(session: Session, user_id: int) -> int:
    return session.scalar(
        select(func.count(Mention.id)).where(Mention.user_id == user_id, Mention.read_at.is_(None))
    )


def mark_mentions_read(session: Session, user_id: int, ticket_id: int | None = None) -> int:
    condition = [Mention.user_id == user_id, Mention.read_at.is_(None)]
    if ticket_id is not None:
        condition.append(Mention.ticket_id == ticket_id)
    return session.execute(
        update(Mention)
        .where(*condition)
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount


# --- replies -------------------------------------------------------------------------


def parse_cc(raw: str | Sequence[str] | None) -> list[str]:
    items = re.split(r"[,;\s]+", raw) if isinstance(raw, str) else list(raw or [])
    addresses: dict[str, str] = {}
    for item in items:
        if not item.strip():
            continue
        try:
            address = normalize_email(item)
        except InvalidEmail:
            raise InvalidInput(
                _l("%(address)r is not an email address.", address=item.strip()), field="cc"
            ) from None
        addresses.setdefault(address.lower(), address)
    if len(addresses) > MAX_CC:
        raise InvalidInput(_l("At most %(n)d Cc addresses.", n=MAX_CC), field="cc")
    return list(addresses.values())


def _clean_uploads(uploads: Sequence[Upload]) -> list[Upload]:
    files = [u for u in uploads if u.filename or u.content]
    if len(files) > MAX_ATTACHMENTS:
        raise InvalidInput(
            _l("At most %(n)d attachments per reply.", n=MAX_ATTACHMENTS), field="attachments"
        )
    if sum(len(u.content) for u in files) > MAX_ATTACHMENT_BYTES:
        raise InvalidInput(
            _l("Attachments may add up to %(mb)d MB.", mb=MAX_ATTACHMENT_BYTES // 2**20),
            field="attachments",
        )
    cleaned = []
    for upload in files:
        name = _FILENAME_UNSAFE.sub("_", upload.filename or "").strip()[:255] or "attachment"
        if not upload.content:
            raise InvalidInput(_l("%(name)s is empty.", name=name), field="attachments")
        ctype = (upload.content_type or "").split(";")[0].strip().lower()
        if not CONTENT_TYPE_PATTERN.match(ctype) or ctype == "application/octet-stream":
            ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        cleaned.append(Upload(name, ctype, upload.content))
    return cleaned


def reply_subject(ticket: Ticket) -> str:
    """``Re: <subject> [#id]``: customers' clients thread by it and ingest finds the id."""
    base = " ".join(_SUBJECT_TOKEN.sub("", ticket.subject or "").split()) or "(no subject)"
    if not re.match(r"^re\s*:", base, re.IGNORECASE):
        base = f"Re: {base}"
    return f"{base} [#{ticket.id}]"[:998]


def _thread_parent(session: Session, ticket_id: int) -> Message | None:
    """The message a reply answers: the newest customer mail, else our newest sent mail."""
    with_id = select(Message).where(Message.ticket_id == ticket_id, Message.message_id.is_not(None))
    newest = (Message.created_at.desc(), Message.id.desc())
    return (
        session.scalars(
            with_id.where(Message.kind == MessageKind.customer).order_by(*newest).limit(1)
        ).first()
        or session.scalars(with_id.order_by(*newest).limit(1)).first()
    )


def _reply_mailbox(session: Session, ticket: Ticket) -> Mailbox:
    mailbox = session.get(Mailbox, ticket.mailbox_id) if ticket.mailbox_id else None
    mailbox = (
        mailbox
        or session.scalars(
            select(Mailbox).where(Mailbox.is_active).order_by(Mailbox.id).limit(1)
        ).first()
    )
    if mailbox is None:
        raise InvalidInput(_l("There is no mailbox to send from: add one in Settings first."))
    return mailbox


def _store_attachment(session: Session, message_id: int, upload: Upload) -> None:
    digest = hashlib.sha256(upload.content).hexdigest()
    if session.get(AttachmentBlob, digest) is None:
        try:
            with session.begin_nested():
                session.add(
                    AttachmentBlob(sha256=digest, size=len(upload.content), content=upload.content)
                )
        except IntegrityError:
            pass  # the same bytes were stored meanwhile; the key is their hash
    session.add(
        Attachment(
            message_id=message_id,
            blob_sha256=digest,
            filename=upload.filename,
            content_type=upload.content_type,
            size=len(upload.content),
        )
    )


def _seen_id(session: Session, ticket_id: int, seen_message_id: int | None) -> int:
    if not seen_message_id:
        return 0
    owner = session.scalar(select(Message.ticket_id).where(Message.id == seen_message_id))
    if owner != ticket_id:
        raise InvalidInput(
            _l("The reply form does not belong to this ticket. Reload the page and try again.")
        )
    return seen_message_id


def latest_message_id(session: Session, ticket_id: int) -> int:
    return session.scalar(select(func.max(Message.id)).where(Message.ticket_id == ticket_id)) or 0


def send_reply(
    session: Session,
    ticket_id: int,
    agent_id: int,
    body: str,
    cc: str | Sequence[str] | None,
    attachments: Sequence[Upload],
    seen_message_id: int | None,
    new_status: str | None,
    *,
    mail: MailSettings,
) -> Message:
    """Store the agent's reply as a queued outgoing message; the caller commits and then
    enqueues the send job. Raises ReplyConflict when a customer message, reply or note
    newer than `seen_message_id` exists; then nothing is written."""
    text = _clean_body(body, "body", _l("Write the reply first."))
    cc_list = parse_cc(cc)
    status = parse_status(new_status) if new_status else STATUS_AFTER_REPLY
    uploads = _clean_uploads(attachments)
    agent = _agent(session, agent_id)

    ticket = _lock_ticket(session, ticket_id)
    _refuse_merged(ticket)
    seen = _seen_id(session, ticket.id, seen_message_id)
    newer = list(
        session.scalars(
            select(Message)
            .where(
                Message.ticket_id == ticket.id,
                Message.kind.in_(CONVERSATION_KINDS),
                Message.id > seen,
            )
            .order_by(Message.id)
        )
    )
    if newer:
        raise ReplyConflict(newer, latest_message_id(session, ticket.id))

    mailbox = _reply_mailbox(session, ticket)
    customer = session.get(Customer, ticket.customer_id)
    parent = _thread_parent(session, ticket.id)
    references: list[str] = []
    if parent is not None:
        references = [*parent.references, parent.message_id]
        # RFC 5322 3.6.4: keep the first (the thread's root) when shortening the chain.
        if len(references) > MAX_REFERENCES:
            references = [references[0], *references[-(MAX_REFERENCES - 1) :]]
    now = utcnow()
    reply = Message(
        ticket_id=ticket.id,
        kind=MessageKind.reply,
        message_id=make_message_id(ticket.id, mail.secret_key, mail.domain),
        in_reply_to=parent.message_id if parent else None,
        references=references,
        author_id=agent.id,
        from_email=mailbox.address,
        from_name=mailbox.name[:200],
        to=[customer.email],
        cc=cc_list,
        subject=reply_subject(ticket),
        body_text=f"{text}\n\n{make_body_marker(ticket.id, mail.secret_key)}\n",
        body_reply=text,
        send_status=SendStatus.queued,
        created_at=now,
    )
    session.add(reply)
    session.flush()
    for upload in uploads:
        _store_attachment(session, reply.id, upload)

    _apply_status(ticket, status, now)
    _credit_faq_if_done(session, ticket)
    ticket.first_response_at = ticket.first_response_at or now
    ticket.last_agent_reply_at = now
    ticket.customer_replied_last = False
    sla.apply_sla(session, ticket, now)
    _changed(ticket, now)
    session.flush()
    return reply


def requeue_failed_reply(session: Session, ticket_id: int, message_id: int) -> Message:
    """failed -> queued, for the Retry button; the caller commits and enqueues the job."""
    message = session.get(Message, message_id)
    if message is None or message.ticket_id != ticket_id or message.kind != MessageKind.reply:
        raise InvalidInput(_l("There is no such reply on this ticket."))
    requeued = session.execute(
        update(Message)
        .where(Message.id == message_id, Message.send_status == SendStatus.failed)
        .values(send_status=SendStatus.queued, send_error="")
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(message)
    if not requeued:
        raise InvalidInput(
            _l(
                "Only a reply that failed can be sent again; this one is %(status)s.",
                status=message.send_status,
            )
        )
    return message


def mark_not_queued(session: Session, message_id: int, error: str) -> None:
    """A stored reply whose send job could not be queued shows as failed, with Retry."""
    session.execute(
        update(Message)
        .where(Message.id == message_id, Message.send_status == SendStatus.queued)
        .values(send_status=SendStatus.failed, send_error=error[:2000])
        .execution_options(synchronize_session=False)
    )


# --- attachments and mail HTML -------------------------------------------------------


def attachment_content(
    session: Session, ticket_id: int, attachment_id: int
) -> tuple[Attachment, bytes]:
    """An attachment of a message on this ticket, with its bytes."""
    row = session.execute(
        select(Attachment, AttachmentBlob.content)
        .join(Message, Message.id == Attachment.message_id)
        .join(AttachmentBlob, AttachmentBlob.sha256 == Attachment.blob_sha256)
        .where(Attachment.id == attachment_id, Message.ticket_id == ticket_id)
    ).first()
    if row is None:
        raise AttachmentNotFound(_l("This ticket has no such attachment."))
    return row[0], row[1]


_CID_SRC = re.compile(r'(\ssrc=")cid:([^"]*)"', re.IGNORECASE)
_REMOTE_SRC = re.compile(r'(<img\b[^>]*?\s)data-remote-src="', re.IGNORECASE)


@dataclass(frozen=True)
class MailHtml:
    html: str
    has_remote_images: bool


def mail_html(
    message: Message, attachment_url: Callable[[int], str], *, load_remote: bool
) -> MailHtml:
    """Sanitized mail HTML ready for a sandboxed frame: cid: images point at our copies,
    remote images (held back at ingest as data-remote-src) load only on request."""
    html = message.body_html_safe or ""
    by_cid = {
        a.content_id.strip("<>").lower(): a.id
        for a in message.attachments
        if a.content_id and a.blob_sha256
    }

    def local(match: re.Match[str]) -> str:
        attachment_id = by_cid.get(match.group(2).strip("<>").lower())
        if attachment_id is None:
            return f'{match.group(1)}"'
        return f'{match.group(1)}{attachment_url(attachment_id)}"'

    html = _CID_SRC.sub(local, html)
    has_remote = bool(_REMOTE_SRC.search(html))
    if load_remote:
        html = _REMOTE_SRC.sub(r'\1src="', html)
    return MailHtml(html, has_remote)


# --- duplicates and merging ----------------------------------------------------------


def normalize_subject(subject: str) -> str:
    """The subject without Re:/Fwd: prefixes (any depth), [#n] references and case."""
    text = _SUBJECT_TOKEN.sub(" ", subject or "")
    previous = None
    while previous != text:
        previous = text
        text = _SUBJECT_PREFIX.sub("", text)
    return " ".join(text.split()).casefold()


def _normalize_text(text: str) -> str:
    return " ".join((text or "").split()).casefold()


def _body_hash(text: str) -> str | None:
    normalized = _normalize_text(text)
    return hashlib.sha256(normalized.encode()).hexdigest() if normalized else None


@dataclass(frozen=True)
class DuplicateCandidate:
    """A likely duplicate; merging keeps the older ticket (`target_id`)."""

    ticket: Ticket
    reasons: list[object]
    source_id: int
    target_id: int


def _first_customer_texts(session: Session, ticket_ids: Sequence[int]) -> dict[int, list[str]]:
    texts: dict[int, list[str]] = {}
    rows = session.execute(
        select(Message.ticket_id, Message.body_text)
        .where(Message.ticket_id.in_(ticket_ids), Message.kind == MessageKind.customer)
        .order_by(Message.created_at, Message.id)
    )
    for ticket_id, body in rows:
        texts.setdefault(ticket_id, []).append(body or "")
    return texts


def find_duplicates(session: Session, ticket_id: int, limit: int = 10) -> list[DuplicateCandidate]:
    """Open tickets of the same customer within 14 days that look like the same request:
    a similar subject, a similar first message, or the very same mail text received
    twice (a resend under a new Message-ID)."""
    ticket = get_ticket(session, ticket_id)
    if ticket.merged_into_id is not None:
        return []
    others = list(
        session.scalars(
            select(Ticket)
            .where(
                Ticket.customer_id == ticket.customer_id,
                Ticket.id != ticket.id,
                Ticket.merged_into_id.is_(None),
                Ticket.status.not_in(DONE_STATUSES),
                Ticket.created_at >= ticket.created_at - DUPLICATE_WINDOW,
                Ticket.created_at <= ticket.created_at + DUPLICATE_WINDOW,
            )
            .order_by(Ticket.created_at.desc())
            .limit(50)
        )
    )
    if not others:
        return []
    texts = _first_customer_texts(session, [ticket.id, *(t.id for t in others)])
    own_texts = texts.get(ticket.id, [])
    own_hashes = {h for h in map(_body_hash, own_texts) if h}
    own_first = _normalize_text(own_texts[0])[:_COMPARED_TEXT] if own_texts else ""
    own_subject = normalize_subject(ticket.subject)
    found = []
    for other in others:
        reasons: list[object] = []
        other_texts = texts.get(other.id, [])
        if own_hashes & {h for h in map(_body_hash, other_texts) if h}:
            reasons.append(_l("the same message text was received twice"))
        subject = normalize_subject(other.subject)
        if (
            own_subject
            and subject
            and (
                subject == own_subject
                or SequenceMatcher(None, own_subject, subject).ratio() >= SIMILAR_SUBJECT
            )
        ):
            reasons.append(_l("similar subject"))
        if not reasons and own_first and other_texts:
            first = _normalize_text(other_texts[0])[:_COMPARED_TEXT]
            if first and SequenceMatcher(None, own_first, first).ratio() >= SIMILAR_TEXT:
                reasons.append(_l("similar text"))
        if reasons:
            older, newer = sorted((ticket.id, other.id))
            found.append(DuplicateCandidate(other, reasons, source_id=newer, target_id=older))
    return found[:limit]


def _earliest(*times: datetime | None) -> datetime | None:
    return min((t for t in times if t is not None), default=None)


def merge_tickets(session: Session, source_id: int, target_id: int, agent_id: int) -> Ticket:
    """Move everything of `source` into `target` and close `source` pointing at it.

    Later mail threads into the survivor: its messages now carry the Message-IDs the
    customer answers to, and ingest follows merged_into_id for our signed references.
    """
    if source_id == target_id:
        raise MergeRefused(_l("A ticket cannot be merged into itself."), field="target_id")
    agent = _agent(session, agent_id)
    tickets = _lock_tickets(session, [source_id, target_id])
    source, target = tickets[source_id], tickets[target_id]
    if source.merged_into_id is not None:
        raise MergeRefused(
            _l(
                "Ticket #%(id)d was already merged into #%(into)d.",
                id=source.id,
                into=source.merged_into_id,
            )
        )
    if target.merged_into_id is not None:
        raise MergeRefused(
            _l(
                "Ticket #%(id)d was itself merged into #%(into)d; merge into that one instead.",
                id=target.id,
                into=target.merged_into_id,
            ),
            field="target_id",
        )
    now = utcnow()
    for model in (Message, Mention, RawMessage):
        session.execute(
            update(model)
            .where(model.ticket_id == source.id)
            .values(ticket_id=target.id)
            .execution_options(synchronize_session=False)
        )
    _merge_participants(session, source, target)
    target.tags = list({tag.id: tag for tag in [*target.tags, *source.tags]}.values())

    latest = [t for t in (source.last_customer_message_at, target.last_customer_message_at) if t]
    target.last_customer_message_at = max(latest) if latest else None
    last_turn = session.scalar(
        select(Message.kind)
        .where(
            Message.ticket_id == target.id,
            Message.kind.in_((MessageKind.customer, MessageKind.reply)),
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    )
    target.customer_replied_last = last_turn != MessageKind.reply
    target.first_response_at = _earliest(source.first_response_at, target.first_response_at)
    # The conversation's first answer was due when the earlier of the two was.
    target.first_response_due_at = _earliest(
        source.first_response_due_at, target.first_response_due_at
    )
    sla.apply_sla(session, target, now)
    _changed(target, now)
    _event(
        session,
        target.id,
        f"Ticket #{source.id} merged into this one by {agent.name}.",
        agent.id,
        now,
    )

    source.merged_into_id = target.id
    _apply_status(source, TicketStatus.closed, now)
    sla.apply_sla(session, source, now)
    _changed(source, now)
    _event(session, source.id, f"Merged into ticket #{target.id} by {agent.name}.", agent.id, now)
    session.flush()
    session.expire(target, ["messages"])
    session.expire(source, ["messages"])
    return target


def _merge_participants(session: Session, source: Ticket, target: Ticket) -> None:
    known = {
        email.lower()
        for email in session.scalars(
            select(Participant.email).where(Participant.ticket_id == target.id)
        )
    }
    target_customer = session.get(Customer, target.customer_id)
    known.add(target_customer.email.lower())
    people = [
        (p.email, p.name)
        for p in session.scalars(select(Participant).where(Participant.ticket_id == source.id))
    ]
    if source.customer_id != target.customer_id:
        source_customer = session.get(Customer, source.customer_id)
        people.insert(0, (source_customer.email, source_customer.name))
    for email, name in people:
        if email.lower() not in known:
            known.add(email.lower())
            session.add(Participant(ticket_id=target.id, email=email, name=name or ""))


# --- the ticket page -----------------------------------------------------------------


@dataclass
class TicketPage:
    ticket: Ticket
    customer: Customer
    messages: list[Message]
    latest_message_id: int
    authors: dict[int, str]
    assignee: User | None
    agents: list[User]
    participants: list[Participant]
    custom_fields: list[tuple[CustomField, object]]
    lifetime_value: list
    timeline: list[TimelineEntry]
    campaigns: list  # of helpdesk.campaigns.reports.ReceivedCampaign
    other_tickets: list[Ticket]
    duplicates: list[DuplicateCandidate]
    merged_into: Ticket | None = None


def ticket_page(session: Session, ticket_id: int) -> TicketPage:
    """Everything the ticket page shows, in a fixed number of queries."""
    ticket = get_ticket(session, ticket_id)
    messages = list(
        session.scalars(
            select(Message)
            .options(selectinload(Message.attachments))
            .where(Message.ticket_id == ticket.id)
            .order_by(Message.created_at, Message.id)
        )
    )
    customer = session.get(Customer, ticket.customer_id)
    values = {v.field_id: customer_service.typed_value(v) for v in customer.field_values}
    author_ids = {m.author_id for m in messages if m.author_id}
    return TicketPage(
        ticket=ticket,
        customer=customer,
        messages=messages,
        latest_message_id=max((m.id for m in messages), default=0),
        authors=user_names(session, sorted(author_ids)),
        assignee=session.get(User, ticket.assignee_id) if ticket.assignee_id else None,
        agents=support_agents(session),
        participants=list(
            session.scalars(
                select(Participant)
                .where(Participant.ticket_id == ticket.id)
                .order_by(Participant.email)
            )
        ),
        custom_fields=[(f, values.get(f.id)) for f in customer_service.list_custom_fields(session)],
        lifetime_value=customer_service.lifetime_value(session, customer.id),
        timeline=customer_timeline(session, customer.id, limit=5),
        campaigns=recent_campaigns(session, customer.id),
        other_tickets=list(
            session.scalars(
                select(Ticket)
                .where(Ticket.customer_id == customer.id, Ticket.id != ticket.id)
                .order_by(Ticket.created_at.desc())
                .limit(10)
            )
        ),
        duplicates=find_duplicates(session, ticket.id),
        merged_into=session.get(Ticket, ticket.merged_into_id) if ticket.merged_into_id else None,
    )


@dataclass(frozen=True)
class TicketState:
    version: int
    latest_message_id: int
    merged_into_id: int | None


def ticket_state(session: Session, ticket_id: int) -> TicketState:
    """What the open page polls to notice that the ticket changed."""
    row = session.execute(
        select(Ticket.version, Ticket.merged_into_id).where(Ticket.id == ticket_id)
    ).first()
    if row is None:
        raise TicketNotFound(_l("Ticket #%(id)d does not exist.", id=ticket_id))
    return TicketState(row.version, latest_message_id(session, ticket_id), row.merged_into_id)
