"""Everything the customer's page shows, gathered in one place: fields, purchases, lifetime
value, notes and the timeline."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from helpdesk.customers.models import ContactNote, Customer, CustomField, Purchase
from helpdesk.customers.service.custom_fields import list_custom_fields
from helpdesk.customers.service.field_values import FieldValue, typed_value
from helpdesk.customers.service.notes import notes_of
from helpdesk.customers.service.purchases import Money, lifetime_value, purchases_of
from helpdesk.customers.timeline import TimelineEntry, customer_timeline


@dataclass
class CustomerRecord:
    customer: Customer
    fields: list[tuple[CustomField, FieldValue | None]]
    purchases: list[Purchase]
    lifetime_value: list[Money]
    notes: list[ContactNote]
    timeline: list[TimelineEntry]


def customer_record(
    session: Session, customer: Customer, timeline_limit: int = 50
) -> CustomerRecord:
    values = {v.field_id: typed_value(v) for v in customer.field_values}
    return CustomerRecord(
        customer=customer,
        fields=[(f, values.get(f.id)) for f in list_custom_fields(session)],
        purchases=purchases_of(session, customer.id),
        lifetime_value=lifetime_value(session, customer.id),
        notes=notes_of(session, customer.id),
        timeline=customer_timeline(session, customer.id, limit=timeline_limit),
    )
