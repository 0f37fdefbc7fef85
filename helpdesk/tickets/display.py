"""What the ticket page displays: the conversation with its attachments and mail HTML, the
customer panel, likely duplicates, and the state the open page polls to notice changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from helpdesk.auth.models import User
from helpdesk.customers import service as customer_service
from helpdesk.customers.models import Customer, CustomField
from helpdesk.customers.timeline import TimelineEntry, customer_timeline
from helpdesk.text import lazy_text as _l
from helpdesk.tickets.customer_campaigns import recent_campaigns
from helpdesk.tickets.merge_undo import undoable_merge
from helpdesk.tickets.merging import DuplicateCandidate, find_duplicates
from helpdesk.tickets.models import (
    Attachment,
    AttachmentBlob,
    Message,
    Participant,
    Ticket,
    TicketMerge,
)
from helpdesk.tickets.replies import latest_message_id
from helpdesk.tickets.service import (
    AttachmentNotFound,
    TicketNotFound,
    get_ticket,
    support_agents,
    user_names,
)


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


# Sections that features built on tickets (surveys) add to the page's right column:
# name -> fn(session, ticket) giving (template, data) or None when there is nothing to
# show. A registry, because tickets must not import the packages that import it.
Panel = Callable[[Session, Ticket], tuple[str, object] | None]
_panels: dict[str, Panel] = {}


def register_panel(name: str, fn: Panel) -> Panel:
    """Add (or replace, so re-imports stay harmless) one sidebar section."""
    _panels[name] = fn
    return fn


def _panel_sections(session: Session, ticket: Ticket) -> list[tuple[str, object]]:
    return [section for fn in _panels.values() if (section := fn(session, ticket)) is not None]


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
    # The latest merge into or out of this ticket that can still be undone.
    undoable_merge: TicketMerge | None = None
    # (template, data) of the registered sections, in the order they were registered.
    panels: list[tuple[str, object]] = field(default_factory=list)


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
        undoable_merge=undoable_merge(session, ticket.id),
        panels=_panel_sections(session, ticket),
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
