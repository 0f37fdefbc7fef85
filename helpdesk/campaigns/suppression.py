"""The suppression list: addresses no campaign may mail, and what puts them there: an
unsubscribe, a hard bounce, repeated soft bounces or a complaint."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from helpdesk.campaigns.models import Delivery, Suppression, SuppressionReason
from helpdesk.customers.models import Customer, SubscriptionStatus
from helpdesk.db import utcnow
from helpdesk.events.service import Subject, record_event
from helpdesk.mail.models import DeliveryProblem, DeliveryProblemKind
from helpdesk.normalize import InvalidEmail, normalize_email


def suppress(
    session: Session,
    email: str,
    reason: SuppressionReason,
    *,
    customer_id: int | None = None,
    detail: str = "",
    now: datetime,
) -> None:
    """Add the address; an address already on the list keeps its first reason.

    One statement with ON CONFLICT DO NOTHING, so two bounces for one address arriving
    in two workers at once cannot fail each other.
    """
    values = {
        "email": email.strip().lower(),
        "reason": reason,
        "detail": detail[:2000],
        "customer_id": customer_id,
        "created_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(Suppression).values(**values).on_conflict_do_nothing())


class SuppressionInvalid(ValueError):
    """Bad input: {field: message}; nothing was added."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__(errors)


# Reasons a person or another system may give; bounces and complaints come from mail.
REASONS_TO_ADD = (SuppressionReason.manual, SuppressionReason.unsubscribed)


def add_suppression(
    session: Session,
    email: str,
    reason: SuppressionReason = SuppressionReason.manual,
    *,
    detail: str = "",
    now: datetime,
) -> tuple[Suppression, bool]:
    """Put an address on the list by hand or for another system; (row, whether it is new).

    An unsubscribe of a known customer unsubscribes the customer too, as the
    unsubscribe link does. An address already listed keeps its first reason.
    """
    try:
        address = normalize_email(email).lower()
    except InvalidEmail:
        raise SuppressionInvalid({"email": "This is not an email address."}) from None
    if reason not in REASONS_TO_ADD:
        raise SuppressionInvalid({"reason": "Use manual or unsubscribed."})
    existing = session.get(Suppression, address)
    if existing is not None:
        return existing, False
    customer_id = session.scalar(
        select(Customer.id).where(func.lower(Customer.email) == address).limit(1)
    )
    if reason == SuppressionReason.unsubscribed and customer_id is not None:
        unsubscribe_customer(session, customer_id, now=now)
    else:
        suppress(session, address, reason, customer_id=customer_id, detail=detail, now=now)
    session.flush()
    return session.get(Suppression, address, populate_existing=True), True


def suppressions_after(
    session: Session,
    after_email: str,
    limit: int,
    *,
    reason: SuppressionReason | None = None,
    since: datetime | None = None,
) -> list[Suppression]:
    """Listed addresses in address order after `after_email` (the primary key)."""
    query = select(Suppression).where(Suppression.email > after_email)
    if reason is not None:
        query = query.where(Suppression.reason == reason)
    if since is not None:
        query = query.where(Suppression.created_at >= since)
    return list(session.scalars(query.order_by(Suppression.email).limit(limit)))


def is_suppressed(session: Session, email: str) -> bool:
    return (
        session.scalar(select(Suppression.email).where(Suppression.email == email.strip().lower()))
        is not None
    )


def unsubscribe_customer(session: Session, customer_id: int, *, now: datetime) -> None:
    """Honoured by every later campaign at once: the status, and the suppression list that
    segments and the send snapshot exclude."""
    email = session.scalar(select(Customer.email).where(Customer.id == customer_id))
    if email is None:
        return
    changed = session.execute(
        update(Customer)
        .where(
            Customer.id == customer_id,
            Customer.subscription_status != SubscriptionStatus.unsubscribed,
        )
        .values(
            subscription_status=SubscriptionStatus.unsubscribed,
            unsubscribed_at=func.coalesce(Customer.unsubscribed_at, now),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed:
        record_event(
            session,
            "customer.unsubscribed",
            Subject("customer", customer_id),
            {"customer_id": customer_id, "email": email},
            now=now,
        )
    suppress(session, email, SuppressionReason.unsubscribed, customer_id=customer_id, now=now)


_VERP = re.compile(r"\bbounces\+([A-Za-z0-9]+)@", re.IGNORECASE)


def _verp_token(addresses: Iterable[str]) -> str | None:
    for address in addresses:
        match = _VERP.search(address or "")
        if match:
            return match.group(1)
    return None


def _find_delivery(
    session: Session, problem: DeliveryProblem, addresses: Iterable[str]
) -> Delivery | None:
    token = _verp_token([*addresses, problem.recipient])
    if token is not None:
        delivery = session.scalars(select(Delivery).where(Delivery.token == token)).first()
        if delivery is not None:
            return delivery
    original = (problem.original_message_id or "").strip()
    if original:
        bare = original.strip("<>")
        return session.scalars(
            select(Delivery).where(Delivery.message_id.in_((original, f"<{bare}>", bare)))
        ).first()
    if problem.kind == DeliveryProblemKind.complaint and problem.recipient:
        # Feedback loops often strip the reported message's headers; a complaint is about
        # recent mail, so it goes to the latest campaign message sent to that address.
        return session.scalars(
            select(Delivery)
            .where(
                func.lower(Delivery.email) == problem.recipient.strip().lower(),
                Delivery.sent_at.is_not(None),
            )
            .order_by(Delivery.sent_at.desc())
            .limit(1)
        ).first()
    return None


def apply_delivery_problem(
    session: Session,
    problem: DeliveryProblem,
    *,
    addresses: Iterable[str] = (),
    soft_bounce_limit: int = 3,
    now: datetime | None = None,
) -> Delivery | None:
    """Mark the delivery a bounce or complaint is about, and suppress the address when
    the rules say so: a hard bounce or a complaint at once, soft bounces at the limit.

    The delivery is found by the VERP token (`bounces+<token>@domain`) in `addresses`
    (the bounce's envelope recipient, Delivered-To, To) or the problem's recipient, else
    by the original Message-ID. Returns the delivery, or None for mail not from a campaign.
    """
    now = now or utcnow()
    delivery = _find_delivery(session, problem, addresses)
    if delivery is not None:
        if problem.customer_id is None:
            problem.customer_id = delivery.customer_id
        if not problem.recipient:
            problem.recipient = delivery.email
        if problem.kind == DeliveryProblemKind.complaint:
            delivery.complained_at = delivery.complained_at or now
        elif problem.kind == DeliveryProblemKind.hard_bounce or delivery.bounce_kind != "hard":
            delivery.bounce_kind = (
                "hard" if problem.kind == DeliveryProblemKind.hard_bounce else "soft"
            )
            delivery.bounced_at = delivery.bounced_at or now
    session.flush()
    email = delivery.email if delivery is not None else problem.recipient
    customer_id = delivery.customer_id if delivery is not None else problem.customer_id
    if not email:
        return delivery
    detail = " ".join(part for part in (problem.status_code, problem.diagnostic) if part)
    if problem.kind == DeliveryProblemKind.hard_bounce:
        suppress(
            session,
            email,
            SuppressionReason.hard_bounce,
            customer_id=customer_id,
            detail=detail,
            now=now,
        )
    elif problem.kind == DeliveryProblemKind.complaint:
        suppress(
            session,
            email,
            SuppressionReason.complaint,
            customer_id=customer_id,
            detail=detail,
            now=now,
        )
    else:
        soft = session.scalar(
            select(func.count())
            .select_from(DeliveryProblem)
            .where(
                DeliveryProblem.kind == DeliveryProblemKind.soft_bounce,
                DeliveryProblem.customer_id == customer_id
                if customer_id is not None
                else func.lower(DeliveryProblem.recipient) == email.lower(),
            )
        )
        if soft >= soft_bounce_limit:
            suppress(
                session,
                email,
                SuppressionReason.soft_bounces,
                customer_id=customer_id,
                detail=f"{soft} soft bounces; the last: {detail}",
                now=now,
            )
    return delivery
