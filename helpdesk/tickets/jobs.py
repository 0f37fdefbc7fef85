"""RQ jobs that mail ticket messages (acknowledgements, agent replies) out, and the
periodic check that tells assignees of their overdue tickets.

A message row moves `queued -> sending -> sent | failed`. The claim is a conditional
UPDATE, so two runs of the job for one row never both send it, and a sent row is never
sent again. A row left in `sending` by a killed worker stays there for a person to look
at: the relay may or may not have accepted it, and a second copy is worse than a delay.
"""

from __future__ import annotations

import logging
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from helpdesk.config import Config
from helpdesk.db import session_scope, utcnow
from helpdesk.mail import outbound
from helpdesk.mail.outbound import LOOP_HEADER
from helpdesk.notifications import service as notifications
from helpdesk.notifications.jobs import send_pending_notification_mail
from helpdesk.notifications.models import Notification, NotificationKind
from helpdesk.queue import MAIL_QUEUE, enqueue, queue_at_most_every
from helpdesk.tickets.models import (
    DONE_STATUSES,
    Attachment,
    AttachmentBlob,
    Message,
    MessageKind,
    SendStatus,
    Ticket,
)

log = logging.getLogger(__name__)

MAILED_KINDS = (MessageKind.reply, MessageKind.acknowledgement)


class NotSendable(ValueError):
    """The message does not exist or is not something we mail (a note, customer mail...)."""


def enqueue_ticket_message(config: Config, message_id: int):
    """Queue the send after the row is committed (the worker must be able to load it)."""
    return enqueue(config, MAIL_QUEUE, send_ticket_message, message_id)


def send_ticket_message(message_id: int, smtp_url: str | None = None) -> SendStatus | None:
    """Send one queued ticket message and record the outcome; returns the final status."""
    with session_scope() as session:
        status = claim_for_sending(session, message_id)
    if status is not SendStatus.sending:
        return status
    try:
        with session_scope() as session:
            email = build_ticket_email(session, message_id)
        url = smtp_url or Config.from_env().effective_smtp_url
        with outbound.SMTPSender(url) as sender:
            sender.send(email)
    except Exception as exc:
        # Whatever went wrong (relay refused, unreachable, bad address), the row must
        # not stay in `sending`: the agent sees the error and can send it again.
        log.warning("sending ticket message %s failed: %s", message_id, exc)
        with session_scope() as session:
            mark_failed(session, message_id, f"{type(exc).__name__}: {exc}")
        return SendStatus.failed
    with session_scope() as session:
        mark_sent(session, message_id)
    return SendStatus.sent


def claim_for_sending(session: Session, message_id: int) -> SendStatus | None:
    """queued/failed -> sending; returns `sending` only to the one caller that won, else
    the row's current status (None for a reply that was never queued)."""
    message = session.get(Message, message_id)
    if message is None or message.kind not in MAILED_KINDS:
        raise NotSendable(f"message {message_id} is not an outgoing ticket message")
    claimed = session.execute(
        update(Message)
        .where(
            Message.id == message_id,
            Message.send_status.in_((SendStatus.queued, SendStatus.failed)),
        )
        .values(send_status=SendStatus.sending, send_error="")
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed:
        return SendStatus.sending
    session.refresh(message)
    return message.send_status


def mark_sent(session: Session, message_id: int) -> None:
    session.execute(
        update(Message)
        .where(Message.id == message_id, Message.send_status == SendStatus.sending)
        .values(send_status=SendStatus.sent, sent_at=utcnow(), send_error="")
        .execution_options(synchronize_session=False)
    )


def mark_failed(session: Session, message_id: int, error: str) -> None:
    session.execute(
        update(Message)
        .where(Message.id == message_id, Message.send_status == SendStatus.sending)
        .values(send_status=SendStatus.failed, send_error=error[:2000])
        .execution_options(synchronize_session=False)
    )


def build_ticket_email(session: Session, message_id: int) -> EmailMessage:
    message = session.get(Message, message_id)
    if not message.message_id:
        raise NotSendable(f"message {message_id} has no Message-ID to thread replies by")
    headers = {LOOP_HEADER: message.from_email}
    if message.kind == MessageKind.acknowledgement:
        # RFC 3834: marks it automatic, so well-behaved autoresponders do not answer it.
        headers["Auto-Submitted"] = "auto-replied"
    if message.in_reply_to:
        headers["In-Reply-To"] = f"<{message.in_reply_to}>"
    references = [*message.references]
    if message.in_reply_to and message.in_reply_to not in references:
        references.append(message.in_reply_to)
    if references:
        headers["References"] = " ".join(f"<{ref}>" for ref in references)
    if message.cc:
        headers["Cc"] = ", ".join(message.cc)
    attachments = [
        outbound.Attachment(
            filename=a.filename,
            content=blob,
            content_type=a.content_type,
            content_id=a.content_id if a.inline else None,
        )
        for a, blob in session.execute(
            select(Attachment, AttachmentBlob.content)
            .join(AttachmentBlob, AttachmentBlob.sha256 == Attachment.blob_sha256)
            .where(Attachment.message_id == message.id)
            .order_by(Attachment.id)
        )
    ]
    return outbound.build_message(
        Address(display_name=message.from_name, addr_spec=message.from_email),
        message.to,
        message.subject,
        message.body_text,
        html=message.body_html_safe,
        headers=headers,
        message_id=f"<{message.message_id}>",
        attachments=attachments,
    )


# --- overdue notices -----------------------------------------------------------------

OVERDUE_CHECK_KEY = "helpdesk:notifications:overdue-check"


def queue_overdue_check(redis, every_seconds: int = 60) -> bool:
    """Queue `check_overdue_and_mail` at most once every `every_seconds`; the worker
    calls this with its campaign check."""
    return queue_at_most_every(redis, OVERDUE_CHECK_KEY, every_seconds, check_overdue_and_mail)


def check_overdue_and_mail() -> int:
    """Tell assignees of their tickets that went overdue, then mail the notifications
    waiting for it: these, and any whose own job was lost (Redis down when ingest or a
    page queued it). Returns how many were mailed."""
    with session_scope() as session:
        notify_overdue(session, utcnow())
    with session_scope() as session:
        due = notifications.mail_due(session)
    return send_pending_notification_mail() if due else 0


def notify_overdue(session: Session, now: datetime) -> int:
    """One `overdue` notification per ticket and due time: a ticket whose assignee was
    told after it fell due is not told of again until a new due time passes."""
    told = (
        select(Notification.id)
        .where(
            Notification.ticket_id == Ticket.id,
            Notification.user_id == Ticket.assignee_id,
            Notification.kind == NotificationKind.overdue,
            Notification.created_at >= Ticket.response_due_at,
        )
        .exists()
    )
    rows = session.execute(
        select(Ticket.id, Ticket.subject, Ticket.assignee_id).where(
            Ticket.response_due_at < now,
            Ticket.assignee_id.is_not(None),
            Ticket.merged_into_id.is_(None),
            Ticket.status.not_in(DONE_STATUSES),
            ~told,
        )
    ).all()
    notified = notifications.notify_many(
        session,
        [
            notifications.Event(NotificationKind.overdue, ticket_id, subject, [assignee_id])
            for ticket_id, subject, assignee_id in rows
        ],
    )
    return notified.stored
