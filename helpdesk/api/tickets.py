"""/tickets: the queues' list and filters in cursor pages, a ticket with its messages, a
new ticket on behalf of a customer (taken in like mail), replies with the double-reply
guard, internal notes, assignment with the expected-assignee guard, and status, priority
and tags under If-Match. Every action goes through the ticket services the pages use.
Opening a ticket for a customer is mail coming in: helpdesk.inbound.api_tickets."""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import UTC, datetime
from typing import Annotated

from flask import after_this_request, current_app
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
)
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from helpdesk.api.auth import current_caller
from helpdesk.api.etags import check_if_match
from helpdesk.api.pagination import PageQuery, page_model
from helpdesk.api.problems import FieldError, Problem, ProblemBody, invalid_input
from helpdesk.api.routing import api_route, cursor_page, found, not_found
from helpdesk.db import utcnow
from helpdesk.input_bounds import MAX_ID
from helpdesk.tickets import notes, queues, replies, service
from helpdesk.tickets.jobs import enqueue_ticket_message
from helpdesk.tickets.models import (
    Message,
    MessageKind,
    Priority,
    SendStatus,
    Ticket,
    TicketStatus,
)
from helpdesk.web import db_session

log = logging.getLogger(__name__)

TAG = "tickets"


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    inline: bool


class MessageOut(BaseModel):
    id: int
    kind: MessageKind
    author_id: int | None = Field(description="The agent who wrote a reply or note.")
    from_email: str
    from_name: str
    to: list[str]
    cc: list[str]
    subject: str
    body_text: str = Field(description="The text as received or sent.")
    send_status: SendStatus | None = Field(description="Of a reply: queued, sent, failed.")
    created_at: datetime
    attachments: list[AttachmentOut]


class TicketOut(BaseModel):
    id: int
    subject: str
    status: TicketStatus
    priority: Priority
    customer_id: int
    mailbox_id: int | None
    assignee_id: int | None
    merged_into_id: int | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    response_due_at: datetime | None


class TicketDetailOut(TicketOut):
    latest_message_id: int = Field(
        description="Send it as `seen_message_id` with a reply (0: no message yet)."
    )
    messages: list[MessageOut]


class TicketListQuery(PageQuery):
    view: queues.View = Field(queues.View.all, description="A queue view; mine: the token's.")
    status: TicketStatus | None = None
    priority: Priority | None = None
    assignee_id: int | None = Field(None, ge=1, le=MAX_ID)
    mailbox_id: int | None = Field(None, ge=1, le=MAX_ID)
    customer_id: int | None = Field(None, ge=1, le=MAX_ID)
    tag: str | None = Field(None, max_length=64)
    updated_since: AwareDatetime | None = Field(None, description="ISO 8601 with offset.")

    @field_validator("updated_since")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        # An offset can push a time past year 9999 in UTC, where datetime ends.
        try:
            return value.astimezone(UTC) if value is not None else None
        except OverflowError:
            raise ValueError("out of range") from None


# Base64 of the most the attachments of one reply may add up to.
MAX_BASE64 = (replies.MAX_ATTACHMENT_BYTES + 2) // 3 * 4


def _decoded(value: object) -> bytes:
    # Strict: the lenient decoder drops characters it does not know, so a garbled
    # upload would go out as a different, shorter file.
    if not isinstance(value, str):
        raise ValueError("Send the file's bytes as a base64 string.")
    if len(value) > MAX_BASE64:
        raise ValueError("Too large.")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError("Not valid base64.") from None


Base64Content = Annotated[
    bytes,
    BeforeValidator(_decoded),
    WithJsonSchema(
        {
            "type": "string",
            "contentEncoding": "base64",
            "maxLength": MAX_BASE64,
            "description": "The file's bytes, base64 (RFC 4648).",
        }
    ),
]


class AttachmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(
        "application/octet-stream",
        max_length=255,
        description="Guessed from the file name when missing or not a media type.",
    )
    content: Base64Content

    def upload(self) -> replies.Upload:
        return replies.Upload(self.filename, self.content_type, self.content)


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(max_length=service.MAX_BODY)
    seen_message_id: int = Field(
        ge=0,
        le=MAX_ID,
        description="The newest message id you have seen (`latest_message_id`): 409 when "
        "a customer message, reply or note is newer.",
    )
    cc: list[str] = Field(default_factory=list, max_length=replies.MAX_CC)
    status: TicketStatus | None = Field(None, description="Default: waiting.")
    attachments: list[AttachmentIn] = Field(
        default_factory=list,
        max_length=replies.MAX_ATTACHMENTS,
        description=f"Sent with the mail; at most {replies.MAX_ATTACHMENTS} files adding up "
        f"to {replies.MAX_ATTACHMENT_BYTES // 2**20} MB, and no programs.",
    )


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(max_length=service.MAX_BODY)


class AssigneeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee_id: int | None = Field(
        ge=1, le=MAX_ID, description="The agent to hold it; null: nobody."
    )
    expected_assignee_id: int | None = Field(
        ge=1, le=MAX_ID, description="Who you saw holding it (null: nobody); 409 when that changed."
    )


class TicketChanges(BaseModel):
    """What to set; a field left out keeps its value."""

    model_config = ConfigDict(extra="forbid")

    status: TicketStatus | None = None
    priority: Priority | None = None
    tags: list[str] | None = Field(
        None, max_length=service.MAX_TAGS, description="Replaces all tags."
    )


class ReplyConflictBody(ProblemBody):
    latest_message_id: int
    # As JSON already: the problem response dumps its body without a JSON mode.
    new_messages: list[dict]


TicketPage = page_model(TicketOut)


def _summary(ticket: Ticket) -> dict:
    return {
        "id": ticket.id,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "customer_id": ticket.customer_id,
        "mailbox_id": ticket.mailbox_id,
        "assignee_id": ticket.assignee_id,
        "merged_into_id": ticket.merged_into_id,
        "tags": [tag.name for tag in ticket.tags],
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "response_due_at": ticket.response_due_at,
    }


def message_out(message: Message) -> MessageOut:
    return MessageOut(
        id=message.id,
        kind=message.kind,
        author_id=message.author_id,
        from_email=message.from_email,
        from_name=message.from_name,
        to=list(message.to or []),
        cc=list(message.cc or []),
        subject=message.subject,
        body_text=message.body_text,
        send_status=message.send_status,
        created_at=message.created_at,
        attachments=[
            AttachmentOut.model_validate(a, from_attributes=True) for a in message.attachments
        ],
    )


def ticket_detail(session: Session, ticket_id: int) -> TicketDetailOut:
    ticket = _ticket(session, ticket_id)
    messages = list(
        session.scalars(
            select(Message)
            .where(Message.ticket_id == ticket.id)
            .order_by(Message.created_at, Message.id)
            .options(selectinload(Message.attachments))
        )
    )
    return TicketDetailOut(
        **_summary(ticket),
        latest_message_id=replies.latest_message_id(session, ticket.id),
        messages=[message_out(m) for m in messages],
    )


def _ticket(session: Session, ticket_id: int) -> Ticket:
    try:
        return service.get_ticket(session, ticket_id)
    except service.TicketNotFound:
        raise not_found("ticket", ticket_id) from None


def _actor_id() -> int:
    """Ticket actions are an agent's: a personal token acts as its owner."""
    user_id = current_caller().user_id
    if user_id is None:
        raise Problem(
            403,
            "Agent required",
            "A service token acts for no agent; use a personal token of an agent.",
        )
    return user_id


def _refused(exc: service.TicketActionError, ticket_id: int) -> Problem:
    """A ticket service's refusal as the API's problem; nothing was written."""
    if isinstance(exc, service.TicketNotFound):
        return not_found("ticket", ticket_id)
    if isinstance(exc, service.UnknownAgent):
        return invalid_input([FieldError(field="assignee_id", message=str(exc.message))])
    if isinstance(exc, service.InvalidInput):
        return invalid_input([FieldError(field=exc.field or "body", message=str(exc.message))])
    if isinstance(exc, service.AlreadyAssigned):
        return Problem(409, "Assignment changed", str(exc.message))
    if isinstance(exc, service.TicketMerged):
        return Problem(409, "Ticket merged", str(exc.message))
    return Problem(409, "Refused", str(exc.message))


def _config():
    return current_app.config["HELPDESK"]


def queue_after_commit(message_id: int) -> None:
    """The worker must find the row: queue the send once the response's commit is done."""

    @after_this_request
    def queue(response):
        try:
            enqueue_ticket_message(_config(), message_id)
        except RedisError as exc:
            session = db_session()
            replies.mark_not_queued(session, message_id, f"mail queue unreachable: {exc}")
            session.commit()
            log.warning("could not queue ticket message %s: %s", message_id, exc)
        return response


@api_route(
    "GET",
    "/tickets",
    tag=TAG,
    summary="List tickets",
    scope="tickets:read",
    query=TicketListQuery,
    response=TicketPage,
)
def list_tickets(query: TicketListQuery):
    """In id order; a queue view narrowed by status, priority, assignee, mailbox,
    customer, tag and change time."""
    flt = queues.QueueFilter(
        view=query.view,
        mailbox_id=query.mailbox_id,
        assignee_id=query.assignee_id,
        status=query.status,
        priority=query.priority,
        tag=query.tag or "",
        customer_id=query.customer_id,
    )
    return cursor_page(
        TicketPage,
        "tickets",
        query,
        lambda after, limit: queues.tickets_after(
            db_session(),
            flt,
            user_id=current_caller().user_id or 0,
            now=utcnow(),
            after_id=after,
            limit=limit,
            updated_since=query.updated_since,
        ),
        lambda ticket: TicketOut(**_summary(ticket)),
    )


@api_route(
    "GET",
    "/tickets/<int:ticket_id>",
    tag=TAG,
    summary="Get a ticket with its messages",
    scope="tickets:read",
    response=TicketDetailOut,
    etag=True,
)
def get_ticket(ticket_id: int):
    """Messages oldest first, internal notes and events included."""
    return ticket_detail(db_session(), ticket_id)


@api_route(
    "POST",
    "/tickets/<int:ticket_id>/replies",
    tag=TAG,
    summary="Reply to the customer by mail",
    scope="tickets:write",
    body=ReplyIn,
    response=MessageOut,
    status=201,
    errors=(409,),
)
def reply(ticket_id: int, body: ReplyIn):
    """Queued for sending as from the ticket page, attachments included. 409 with the
    new messages, and nothing sent, when the ticket holds a customer message, reply or
    note newer than `seen_message_id`; send again with the `latest_message_id` of that
    answer."""
    session = db_session()
    config = _config()
    try:
        message = replies.send_reply(
            session,
            ticket_id,
            _actor_id(),
            body.body,
            body.cc,
            [attachment.upload() for attachment in body.attachments],
            body.seen_message_id,
            body.status.value if body.status else None,
            mail=replies.MailSettings(config.secret_key, config.effective_mail_domain),
        )
    except service.ReplyConflict as exc:
        problem = Problem(409, "New messages", str(exc.message))
        problem.body = ReplyConflictBody(
            **problem.body.model_dump(),
            latest_message_id=exc.latest_message_id,
            new_messages=[message_out(m).model_dump(mode="json") for m in exc.new_messages],
        )
        raise problem from None
    except service.InvalidInput as exc:
        if exc.field is None:  # the seen message is another ticket's
            exc.field = "seen_message_id"
        raise _refused(exc, ticket_id) from None
    except service.TicketActionError as exc:
        raise _refused(exc, ticket_id) from None
    queue_after_commit(message.id)
    return message_out(message)


@api_route(
    "POST",
    "/tickets/<int:ticket_id>/notes",
    tag=TAG,
    summary="Add an internal note",
    scope="tickets:write",
    body=NoteIn,
    response=MessageOut,
    status=201,
)
def add_note(ticket_id: int, body: NoteIn):
    """Never mailed; @mentioned agents see it in their Mentions."""
    try:
        note = notes.add_note(db_session(), ticket_id, author_id=_actor_id(), body=body.body)
    except service.TicketActionError as exc:
        raise _refused(exc, ticket_id) from None
    return message_out(note)


@api_route(
    "PUT",
    "/tickets/<int:ticket_id>/assignee",
    tag=TAG,
    summary="Assign or unassign a ticket",
    scope="tickets:write",
    body=AssigneeIn,
    response=TicketOut,
    errors=(409,),
)
def assign(ticket_id: int, body: AssigneeIn):
    """409 when the ticket is no longer held by `expected_assignee_id`, as on the page."""
    try:
        ticket = service.assign_ticket(
            db_session(),
            ticket_id,
            body.assignee_id,
            actor_id=_actor_id(),
            expected_assignee_id=body.expected_assignee_id,
        )
    except service.TicketActionError as exc:
        raise _refused(exc, ticket_id) from None
    return TicketOut(**_summary(ticket))


@api_route(
    "PATCH",
    "/tickets/<int:ticket_id>",
    tag=TAG,
    summary="Set status, priority or tags",
    scope="tickets:write",
    body=TicketChanges,
    response=TicketDetailOut,
    etag=True,
    if_match=True,
)
def update_ticket(ticket_id: int, body: TicketChanges):
    """Send the ETag of your last read in If-Match: 412 when the ticket changed since
    (a new message, another agent's change)."""
    session = db_session()
    actor_id = _actor_id()
    # Locked until commit, so the If-Match check and the change see the same ticket.
    found(session.get(Ticket, ticket_id, with_for_update=True), "ticket", ticket_id)
    check_if_match(ticket_detail(session, ticket_id))
    try:
        if body.status is not None:
            service.set_status(session, ticket_id, body.status.value, actor_id=actor_id)
        if body.priority is not None:
            service.set_priority(session, ticket_id, body.priority.value, actor_id=actor_id)
        if body.tags is not None:
            service.set_tags(session, ticket_id, ", ".join(body.tags), actor_id=actor_id)
    except service.TicketActionError as exc:
        raise _refused(exc, ticket_id) from None
    session.expire_all()
    return ticket_detail(session, ticket_id)
