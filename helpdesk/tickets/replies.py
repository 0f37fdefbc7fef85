"""An agent's reply by mail, stored as a queued outgoing message, with the double-reply
guard: a reply is refused while the ticket holds a message newer than the agent saw.

The reply locks the ticket row (SELECT ... FOR UPDATE on PostgreSQL; on SQLite every
transaction starts with BEGIN IMMEDIATE, which serializes writers), checks that nothing
newer than what the agent saw exists and inserts itself in that same transaction, so two
agents never both answer the same message. Functions flush and leave the commit to the
caller, who then queues the send job.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from helpdesk.auth.models import User
from helpdesk.customers.models import Customer
from helpdesk.customers.service import customer_language
from helpdesk.db import utcnow
from helpdesk.mail.models import Mailbox
from helpdesk.mail.parse import sanitize_html
from helpdesk.mail.rich_text import plain_text_from_html
from helpdesk.mail.signatures import (
    SEPARATOR,
    Signature,
    reply_language,
    reply_signature,
    signed,
)
from helpdesk.normalize import InvalidEmail, normalize_email
from helpdesk.text import lazy_text as _l
from helpdesk.tickets import sla
from helpdesk.tickets.events import record_ticket_event
from helpdesk.tickets.models import (
    Attachment,
    AttachmentBlob,
    Message,
    MessageKind,
    SendStatus,
    Ticket,
    TicketStatus,
)
from helpdesk.tickets.service import (
    InvalidInput,
    ReplyConflict,
    _agent,
    _apply_status,
    _changed,
    _clean_body,
    _credit_faq_if_done,
    _event,
    _lock_ticket,
    _refuse_merged,
    parse_status,
)
from helpdesk.tickets.threading import make_body_marker, make_message_id

# An agent must have seen every message of these kinds before replying; events
# (assigned, status changed) and automatic mail do not change what the answer should say.
CONVERSATION_KINDS = (MessageKind.customer, MessageKind.reply, MessageKind.note)
STATUS_AFTER_REPLY = TicketStatus.waiting
MAX_CC = 20
MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
MAX_REFERENCES = 20
MAX_HTML = 2_000_000  # characters of editor HTML; far above any typed reply
CONTENT_TYPE_PATTERN = re.compile(
    r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$"
)
_FILENAME_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")
# Programs a customer's mail client would run on a click: never sent, whoever asks.
EXECUTABLE_EXTENSIONS = frozenset(
    {
        *(".app", ".apk", ".bat", ".cmd", ".com", ".cpl", ".dll", ".exe", ".hta", ".jar"),
        *(".js", ".jse", ".lnk", ".msc", ".msi", ".msp", ".pif", ".ps1", ".reg", ".scr"),
        *(".sh", ".vb", ".vbe", ".vbs", ".ws", ".wsc", ".wsf", ".wsh"),
    }
)
EXECUTABLE_TYPES = frozenset(
    {
        "application/java-archive",
        "application/vnd.microsoft.portable-executable",
        "application/x-dosexec",
        "application/x-executable",
        "application/x-msdos-program",
        "application/x-msdownload",
        "application/x-msi",
        "application/x-ms-installer",
        "application/x-sh",
        "application/x-sharedlib",
        "text/javascript",
    }
)
# The first bytes of Windows (MZ), Linux (ELF) and macOS (Mach-O) programs, whatever
# their name says.
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe")
# The Content-ID the editor gives an image pasted into a reply (static/rich_reply.js).
_INLINE_CID = re.compile(r"^[A-Za-z0-9-]{1,64}@inline$")
_SUBJECT_TOKEN = re.compile(r"\[#\d+\]")


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
    for index, upload in enumerate(files):
        name = _FILENAME_UNSAFE.sub("_", upload.filename or "").strip()[:255] or "attachment"
        if not upload.content:
            raise InvalidInput(_l("%(name)s is empty.", name=name), field="attachments")
        ctype = (upload.content_type or "").split(";")[0].strip().lower()
        if not CONTENT_TYPE_PATTERN.match(ctype) or ctype == "application/octet-stream":
            ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        _refuse_program(index, Upload(name, ctype, upload.content))
        cleaned.append(Upload(name, ctype, upload.content))
    return cleaned


def _refuse_program(index: int, upload: Upload) -> None:
    """Refused by its name, its type or its first bytes; `field` says which, at the
    upload's place in the list (`attachments[2].filename`)."""
    if PurePosixPath(upload.filename.lower()).suffix in EXECUTABLE_EXTENSIONS:
        part = "filename"
    elif upload.content_type in EXECUTABLE_TYPES:
        part = "content_type"
    elif upload.content.startswith(EXECUTABLE_MAGIC):
        part = "content"
    else:
        return
    raise InvalidInput(
        _l("%(name)s is a program; programs cannot be sent as attachments.", name=upload.filename),
        field=f"attachments[{index}].{part}",
    )


def _inline_images(uploads: Sequence[Upload], html: str | None) -> list[tuple[str, Upload]]:
    """Images pasted into the editor, each uploaded under its Content-ID as file name;
    those the reply's HTML no longer shows (deleted after pasting) are left out."""
    images = []
    for upload in _clean_uploads(uploads):
        if not _INLINE_CID.match(upload.filename) or not upload.content_type.startswith("image/"):
            raise InvalidInput(
                _l("A pasted image could not be read. Remove it and paste it again."),
                field="body",
            )
        if html and f'src="cid:{upload.filename}"' in html:
            extension = mimetypes.guess_extension(upload.content_type) or ""
            name = f"{upload.filename.partition('@')[0]}{extension}"
            images.append((upload.filename, Upload(name, upload.content_type, upload.content)))
    return images


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


def _sending_mailbox(session: Session, ticket: Ticket) -> Mailbox | None:
    mailbox = session.get(Mailbox, ticket.mailbox_id) if ticket.mailbox_id else None
    return (
        mailbox
        or session.scalars(
            select(Mailbox).where(Mailbox.is_active).order_by(Mailbox.id).limit(1)
        ).first()
    )


def _reply_mailbox(session: Session, ticket: Ticket) -> Mailbox:
    mailbox = _sending_mailbox(session, ticket)
    if mailbox is None:
        raise InvalidInput(_l("There is no mailbox to send from: add one in Settings first."))
    return mailbox


def _store_attachment(
    session: Session, message_id: int, upload: Upload, content_id: str | None = None
) -> None:
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
            content_id=content_id,
            inline=content_id is not None,
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


@dataclass(frozen=True)
class ReplyBody:
    text: str
    html: str | None  # sanitized, when the agent wrote a formatted reply


def _reply_body(body: str | None, body_html: str | None) -> ReplyBody:
    """The reply as text, and as sanitized HTML when the editor sent any. The text part
    is written from that HTML, so both parts say the same; without HTML (no JavaScript)
    the textarea's text is the reply, as before."""
    if body_html and body_html.strip():
        if len(body_html) > MAX_HTML:
            raise InvalidInput(_l("The formatted reply is too long."), field="body")
        html = sanitize_html(body_html)
        text = _clean_body(plain_text_from_html(html), "body", _l("Write the reply first."))
        return ReplyBody(text, html)
    return ReplyBody(_clean_body(body, "body", _l("Write the reply first.")), None)


def _mail_html(html: str, signature: str, marker: str) -> str:
    """The sent HTML part: the reply, the signature and the ticket marker the text part
    also carries, cleaned again as a whole so that what is stored is sanitized."""
    footer = ""
    if signature:
        lines = "<br>".join(html_lib.escape(line) for line in signature.splitlines())
        footer += f"<div>{html_lib.escape(SEPARATOR)}<br>{lines}</div>"
    footer += f'<div style="color: #888888; font-size: small">{html_lib.escape(marker)}</div>'
    return sanitize_html(f"<div>{html}</div><br>{footer}")


def _signature(session: Session, ticket: Ticket, mailbox: Mailbox | None, agent: User):
    language = reply_language(mailbox, customer_language(session, ticket.customer_id))
    return reply_signature(mailbox, agent, language)


def composer_signature(session: Session, ticket: Ticket, agent_id: int) -> Signature | None:
    """The signature `agent_id`'s reply on the ticket will carry, for the composer."""
    agent = session.get(User, agent_id)
    return _signature(session, ticket, _sending_mailbox(session, ticket), agent) if agent else None


def _assign_to_replier(
    session: Session, ticket: Ticket, mailbox: Mailbox, agent: User, now
) -> None:
    """An unassigned ticket goes to the agent who answers it, where the mailbox says so;
    the ticket row is locked, so no one took it meanwhile."""
    if ticket.assignee_id is not None or not mailbox.assign_on_reply:
        return
    ticket.assignee_id = agent.id
    _event(session, ticket.id, f"Assigned to {agent.name} on reply.", agent.id, now)


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
    body_html: str | None = None,
    inline_images: Sequence[Upload] = (),
) -> Message:
    """Store the agent's reply as a queued outgoing message; the caller commits and then
    enqueues the send job. Raises ReplyConflict when a customer message, reply or note
    newer than `seen_message_id` exists; then nothing is written. With `body_html` (the
    rich editor's) the mail carries it, sanitized, beside a text part written from it;
    `inline_images` are the images it shows by cid:."""
    reply_body = _reply_body(body, body_html)
    text = reply_body.text
    images = _inline_images(inline_images, reply_body.html)
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
    # Before the reply, so the history reads "assigned", then the answer.
    _assign_to_replier(session, ticket, mailbox, agent, now)
    signature = _signature(session, ticket, mailbox, agent).text
    marker = make_body_marker(ticket.id, mail.secret_key)
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
        body_text=f"{signed(text, signature)}\n\n{marker}\n",
        body_html_safe=(
            _mail_html(reply_body.html, signature, marker) if reply_body.html else None
        ),
        body_reply=text,
        send_status=SendStatus.queued,
        created_at=now,
    )
    session.add(reply)
    session.flush()
    for upload in uploads:
        _store_attachment(session, reply.id, upload)
    for content_id, image in images:
        _store_attachment(session, reply.id, image, content_id)

    _apply_status(ticket, status, now)
    _credit_faq_if_done(session, ticket)
    ticket.first_response_at = ticket.first_response_at or now
    ticket.last_agent_reply_at = now
    ticket.customer_replied_last = False
    sla.apply_sla(session, ticket, now)
    _changed(ticket, now)
    record_ticket_event(session, "ticket.replied", ticket, reply, author_id=agent.id)
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
