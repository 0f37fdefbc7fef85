"""Everything the customer's page shows, gathered in one place: fields, purchases, lifetime
value, notes and the timeline."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from helpdesk.auth.models import Role
from helpdesk.customers.models import ContactNote, Customer, CustomField, Purchase
from helpdesk.customers.service.custom_fields import list_custom_fields
from helpdesk.customers.service.field_values import FieldValue, typed_value
from helpdesk.customers.service.notes import notes_of
from helpdesk.customers.service.purchases import Money, lifetime_value, purchases_of
from helpdesk.customers.timeline import TimelineEntry, customer_timeline

# Contact notes are the support team's internal record of what a customer said on a call
# or in a meeting. Marketers work from who the customer is, their consent, tags, fields,
# purchases and campaign history; the notes (on the page and in the timeline) are not
# theirs to read.
NOTE_READERS = frozenset({Role.admin, Role.agent})


def may_read_notes(role: Role) -> bool:
    return role in NOTE_READERS


@dataclass
class CustomerRecord:
    customer: Customer
    fields: list[tuple[CustomField, FieldValue | None]]
    purchases: list[Purchase]
    lifetime_value: list[Money]
    # None when the viewer may not read contact notes (the page leaves the section out).
    notes: list[ContactNote] | None
    timeline: list[TimelineEntry]


def customer_record(
    session: Session, customer: Customer, viewer_role: Role, timeline_limit: int = 50
) -> CustomerRecord:
    """The customer's page as `viewer_role` may see it."""
    with_notes = may_read_notes(viewer_role)
    values = {v.field_id: typed_value(v) for v in customer.field_values}
    return CustomerRecord(
        customer=customer,
        fields=[(f, values.get(f.id)) for f in list_custom_fields(session)],
        purchases=purchases_of(session, customer.id),
        lifetime_value=lifetime_value(session, customer.id),
        notes=notes_of(session, customer.id) if with_notes else None,
        timeline=customer_timeline(
            session,
            customer.id,
            limit=timeline_limit,
            hidden_kinds=frozenset() if with_notes else frozenset({"note"}),
        ),
    )
