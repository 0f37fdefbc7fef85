"""Everything the customer's page shows, gathered in one place: fields, purchases, lifetime
value, notes, tickets and the timeline, as the viewer's role may see them."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from helpdesk.auth.models import Role
from helpdesk.customers.conversations import Conversations, customer_conversations
from helpdesk.customers.models import ContactNote, Customer, CustomField, Purchase
from helpdesk.customers.service.custom_fields import list_custom_fields
from helpdesk.customers.service.field_values import FieldValue, typed_value
from helpdesk.customers.service.notes import notes_of
from helpdesk.customers.service.purchases import Money, lifetime_value, purchases_of
from helpdesk.customers.timeline import Cursor, TimelineEntry, TimelinePage, timeline_page

# Contact notes are the support team's internal record of what a customer said on a call
# or in a meeting. Marketers work from who the customer is, their consent, tags, fields,
# purchases and campaign history; the notes (on the page and in the timeline) are not
# theirs to read.
NOTE_READERS = frozenset({Role.admin, Role.agent})
# Marketers see that a customer has tickets (number, subject, status, last activity) and
# when they were opened and resolved, but not what was written in them, and get no links
# into tickets, which only support staff may open.
TICKET_READERS = frozenset({Role.admin, Role.agent})
# The timeline kinds the tickets package registers: its conversation messages, and
# everything else about a ticket (opened, status changes, resolution, merges).
TICKET_MESSAGE_KIND = "ticket_message"
TICKET_KINDS = frozenset({"ticket", TICKET_MESSAGE_KIND})
# Satisfaction ratings (the surveys package): their comments are the customer's words
# about a ticket, so they stay with those who may read tickets.
SURVEY_KIND = "survey"
CONVERSATION_LIMIT = 20


def may_read_notes(role: Role) -> bool:
    return role in NOTE_READERS


def may_read_tickets(role: Role) -> bool:
    return role in TICKET_READERS


def _hidden_kinds(role: Role) -> frozenset[str]:
    hidden = set()
    if not may_read_notes(role):
        hidden.add("note")
    if not may_read_tickets(role):
        hidden.update({TICKET_MESSAGE_KIND, SURVEY_KIND})
    return frozenset(hidden)


def _unlinked(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    return [replace(e, url=None) if e.kind in TICKET_KINDS else e for e in entries]


@dataclass
class CustomerRecord:
    customer: Customer
    fields: list[tuple[CustomField, FieldValue | None]]
    purchases: list[Purchase]
    lifetime_value: list[Money]
    # None when the viewer may not read contact notes (the page leaves the section out).
    notes: list[ContactNote] | None
    conversations: Conversations
    timeline: list[TimelineEntry]
    timeline_older: Cursor | None  # where the "Older" page starts; None when nothing is older


def customer_record(
    session: Session, customer: Customer, viewer_role: Role, timeline_limit: int = 50
) -> CustomerRecord:
    """The customer's page as `viewer_role` may see it."""
    with_notes = may_read_notes(viewer_role)
    values = {v.field_id: typed_value(v) for v in customer.field_values}
    conversations = customer_conversations(session, customer.id, CONVERSATION_LIMIT)
    timeline = customer_timeline_page(session, customer.id, viewer_role, limit=timeline_limit)
    if not may_read_tickets(viewer_role):
        shown = [replace(c, url=None) for c in conversations.shown]
        conversations = Conversations(shown, conversations.total)
    return CustomerRecord(
        customer=customer,
        fields=[(f, values.get(f.id)) for f in list_custom_fields(session)],
        purchases=purchases_of(session, customer.id),
        lifetime_value=lifetime_value(session, customer.id),
        notes=notes_of(session, customer.id) if with_notes else None,
        conversations=conversations,
        timeline=timeline.entries,
        timeline_older=timeline.older,
    )


def customer_timeline_page(
    session: Session,
    customer_id: int,
    viewer_role: Role,
    after: Cursor | None = None,
    limit: int = 50,
) -> TimelinePage:
    """A page of the customer's timeline as `viewer_role` may see it, starting after
    `after` (the first page without it)."""
    page = timeline_page(
        session, customer_id, limit, hidden_kinds=_hidden_kinds(viewer_role), after=after
    )
    if may_read_tickets(viewer_role):
        return page
    return TimelinePage(_unlinked(page.entries), page.older)
