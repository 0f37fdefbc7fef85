"""Bounces and spam complaints, recorded against the customer they concern (the campaign
delivery they answer is marked by helpdesk.campaigns.suppression)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.customers.models import Customer
from helpdesk.events.service import Subject, record_event
from helpdesk.mail.models import DeliveryProblem, DeliveryProblemKind
from helpdesk.normalize import InvalidEmail, normalize_email


def record_delivery_problem(
    session: Session,
    *,
    raw_message_id: int,
    kind: DeliveryProblemKind,
    recipient: str,
    status_code: str = "",
    diagnostic: str = "",
    original_message_id: str | None = None,
) -> DeliveryProblem:
    """Note that mail to `recipient` bounced or was reported as spam.

    The campaign feature finds its delivery through `original_message_id` (or a VERP
    return path) and suppresses the address; here the problem is tied to the customer.
    """
    customer = find_customer(session, recipient) if recipient else None
    problem = DeliveryProblem(
        raw_message_id=raw_message_id,
        customer_id=customer.id if customer else None,
        recipient=recipient[:320],
        kind=kind,
        status_code=(status_code or "")[:20],
        diagnostic=diagnostic or "",
        original_message_id=original_message_id[:998] if original_message_id else None,
    )
    session.add(problem)
    session.flush()
    type_ = "delivery.complained" if kind == DeliveryProblemKind.complaint else "delivery.bounced"
    subject = (
        Subject("customer", customer.id) if customer else Subject("delivery_problem", problem.id)
    )
    record_event(
        session,
        type_,
        subject,
        {
            "customer_id": customer.id if customer else None,
            "recipient": problem.recipient,
            "kind": str(kind),
            "status_code": problem.status_code,
            "diagnostic": problem.diagnostic[:1000],
        },
    )
    return problem


def find_customer(session: Session, email: str) -> Customer | None:
    try:
        normalized = normalize_email(email)
    except InvalidEmail:
        return None
    # The unique index is on lower(email): one person whatever case their client sends.
    return session.scalars(
        select(Customer).where(func.lower(Customer.email) == normalized.lower())
    ).first()
