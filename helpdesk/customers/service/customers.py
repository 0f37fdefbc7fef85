"""Customer records: validated, then saved with their tags, subscription and custom field
values; one customer per address, whatever its case."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from helpdesk.customers.models import Customer, CustomField, SubscriptionStatus, Tag
from helpdesk.customers.names import NameParts, resolve_name_parts
from helpdesk.customers.service.custom_fields import list_custom_fields
from helpdesk.customers.service.errors import CustomerInvalid
from helpdesk.customers.service.field_values import (
    FieldValue,
    FieldValueError,
    parse_field_value,
    set_field_value,
)
from helpdesk.db import utcnow
from helpdesk.events.service import Subject, record_event
from helpdesk.normalize import (
    MAX_PHONE,
    InvalidEmail,
    InvalidPhone,
    PhoneTooLong,
    normalize_email,
    normalize_phone,
    normalize_tags,
    normalize_text,
)
from helpdesk.text import LazyText
from helpdesk.text import lazy_text as _l


@dataclass
class CustomerData:
    email: str
    name: str = ""
    # As typed; both empty: taken from the name. None (both): the caller does not manage
    # them, so parts a person entered stay and derived ones follow the name.
    given_name: str | None = None
    family_name: str | None = None
    phone: str = ""
    company: str = ""
    tags: str | Sequence[str] = ()
    subscription_status: SubscriptionStatus | str = SubscriptionStatus.not_subscribed
    consent_source: str = ""
    # custom field key -> text as typed; a key that is left out keeps its stored value
    fields: Mapping[str, str] = field(default_factory=dict)
    # Another system's id for the customer; None keeps the stored one, "" removes it.
    external_id: str | None = None


@dataclass
class _CleanCustomer:
    email: str
    name: str
    name_parts: NameParts
    name_parts_entered: bool
    phone: str
    company: str
    tags: list[str]
    status: SubscriptionStatus
    consent_source: str
    values: list[tuple[CustomField, FieldValue | None]]
    external_id: str | None


def find_customer_by_external_id(session: Session, external_id: str) -> Customer | None:
    return session.scalar(select(Customer).where(Customer.external_id == external_id))


def find_customer_by_email(session: Session, email: str) -> Customer | None:
    """Matches regardless of case, as the unique index on lower(email) does."""
    return session.scalar(select(Customer).where(func.lower(Customer.email) == email.lower()))


def get_customer(session: Session, customer_id: int) -> Customer | None:
    return session.get(Customer, customer_id)


def _email_taken(session: Session, email: str, customer: Customer | None) -> bool:
    query = select(Customer.id).where(func.lower(Customer.email) == email.lower())
    if customer is not None and customer.id is not None:
        query = query.where(Customer.id != customer.id)
    return session.scalar(query) is not None


def _external_id_taken(session: Session, external_id: str, customer: Customer | None) -> bool:
    query = select(Customer.id).where(Customer.external_id == external_id)
    if customer is not None and customer.id is not None:
        query = query.where(Customer.id != customer.id)
    return session.scalar(query) is not None


def _duplicate_email(email: str) -> CustomerInvalid:
    return CustomerInvalid(
        {"email": _l("A customer with the email %(email)s already exists.", email=email)}
    )


def _validate_customer(
    session: Session, data: CustomerData, customer: Customer | None
) -> _CleanCustomer:
    errors: dict[str, LazyText] = {}
    email = ""
    try:
        email = normalize_email(data.email)
    except InvalidEmail:
        if not (data.email or "").strip():
            errors["email"] = _l("An email address is required.")
        else:
            errors["email"] = _l("%(email)s is not a valid email address.", email=data.email)
    if email and len(email) > 320:
        errors["email"] = _l("The email address is too long.")
    elif email and _email_taken(session, email, customer):
        errors.update(_duplicate_email(email).errors)
    name = normalize_text(data.name)
    company = normalize_text(data.company)
    given_name = normalize_text(data.given_name)
    family_name = normalize_text(data.family_name)
    for key, value in (
        ("name", name),
        ("given_name", given_name),
        ("family_name", family_name),
        ("company", company),
    ):
        if len(value) > 200:
            errors[key] = _l("At most 200 characters.")
    parts_left_out = data.given_name is None and data.family_name is None
    if parts_left_out and customer is not None and customer.name_parts_entered:
        given_name, family_name = customer.given_name, customer.family_name
    name_parts, name_parts_entered = resolve_name_parts(name, given_name, family_name)
    phone = ""
    try:
        phone = normalize_phone(data.phone)
    except PhoneTooLong:
        errors["phone"] = _l("At most %(max)d characters.", max=MAX_PHONE)
    except InvalidPhone:
        errors["phone"] = _l(
            "Use digits, spaces and + ( ) - . in a phone number, with an optional extension"
            " like x12."
        )
    try:
        status = SubscriptionStatus(data.subscription_status)
    except ValueError:
        errors["subscription_status"] = _l("Choose a subscription status.")
        status = SubscriptionStatus.not_subscribed
    consent_source = normalize_text(data.consent_source)
    if len(consent_source) > 100:
        errors["consent_source"] = _l("At most 100 characters.")
    external_id = None if data.external_id is None else normalize_text(data.external_id)
    if external_id and len(external_id) > 100:
        errors["external_id"] = _l("At most 100 characters.")
    elif external_id and _external_id_taken(session, external_id, customer):
        errors["external_id"] = _l(
            "A customer with the external id %(id)s already exists.", id=external_id
        )
    fields_by_key = {f.key: f for f in list_custom_fields(session)}
    values: list[tuple[CustomField, FieldValue | None]] = []
    for key, raw in data.fields.items():
        custom_field = fields_by_key.get(key)
        if custom_field is None:
            errors[f"cf_{key}"] = _l("There is no custom field %(key)s.", key=key)
            continue
        try:
            values.append((custom_field, parse_field_value(custom_field, raw)))
        except FieldValueError as exc:
            errors[f"cf_{key}"] = exc.message
    if errors:
        raise CustomerInvalid(errors)
    return _CleanCustomer(
        email=email,
        name=name,
        name_parts=name_parts,
        name_parts_entered=name_parts_entered,
        phone=phone,
        company=company,
        tags=normalize_tags(data.tags),
        status=status,
        consent_source=consent_source,
        values=values,
        external_id=external_id,
    )


def tags_named(session: Session, names: Sequence[str]) -> list[Tag]:
    """Existing tags by name, creating the missing ones (safe when two requests race)."""
    if not names:
        return []
    found = {t.name: t for t in session.scalars(select(Tag).where(Tag.name.in_(names)))}
    for name in names:
        if name in found:
            continue
        tag = Tag(name=name)
        try:
            with session.begin_nested():
                session.add(tag)
        except IntegrityError:
            tag = session.scalar(select(Tag).where(Tag.name == name))
        found[name] = tag
    return [found[name] for name in names]


def set_subscription(
    customer: Customer,
    status: SubscriptionStatus | str,
    *,
    source: str = "",
    now: datetime | None = None,
) -> None:
    """Record consent when someone subscribes and the time whenever they opt out.

    The timestamps are the evidence a campaign send relies on, so they change only on a
    real change of status.
    """
    status = SubscriptionStatus(status)
    previous = customer.subscription_status
    if status == previous:
        return
    now = now or utcnow()
    if status == SubscriptionStatus.subscribed:
        customer.consent_at = now
        customer.consent_source = source or "manual"
    elif status == SubscriptionStatus.unsubscribed or previous == SubscriptionStatus.subscribed:
        customer.unsubscribed_at = now
    customer.subscription_status = status


def _apply(session: Session, customer: Customer, clean: _CleanCustomer, now: datetime) -> None:
    customer.email = clean.email
    customer.name = clean.name
    customer.given_name = clean.name_parts.given
    customer.family_name = clean.name_parts.family
    customer.name_parts_entered = clean.name_parts_entered
    customer.phone = clean.phone
    customer.company = clean.company
    if clean.external_id is not None:
        customer.external_id = clean.external_id or None
    customer.tags = sorted(tags_named(session, clean.tags), key=lambda tag: tag.name)
    set_subscription(customer, clean.status, source=clean.consent_source, now=now)
    for custom_field, value in clean.values:
        set_field_value(session, customer, custom_field, value)


def create_customer(session: Session, data: CustomerData, *, now: datetime | None = None):
    now = now or utcnow()
    clean = _validate_customer(session, data, None)
    customer = Customer(
        subscription_status=SubscriptionStatus.not_subscribed,
        consent_source="",
        created_at=now,
        updated_at=now,
    )
    _apply(session, customer, clean, now)
    try:
        with session.begin_nested():
            session.add(customer)
            session.flush()
    except IntegrityError:
        # Another request stored the same address between our check and this insert.
        raise _duplicate_email(clean.email) from None
    _record_customer_event(session, "customer.created", customer, now)
    return customer


def update_customer(
    session: Session, customer: Customer, data: CustomerData, *, now: datetime | None = None
) -> Customer:
    now = now or utcnow()
    clean = _validate_customer(session, data, customer)
    try:
        with session.begin_nested():
            _apply(session, customer, clean, now)
            session.flush()
    except IntegrityError:
        raise _duplicate_email(clean.email) from None
    _record_customer_event(session, "customer.updated", customer, now)
    return customer


def customer_data(customer: Customer) -> dict:
    """The customer as events carry it."""
    return {
        "customer_id": customer.id,
        "email": customer.email,
        "name": customer.name,
        "company": customer.company,
        "subscription_status": str(customer.subscription_status),
        "tags": [tag.name for tag in customer.tags],
    }


def _record_customer_event(session: Session, type_: str, customer: Customer, now) -> None:
    record_event(session, type_, Subject("customer", customer.id), customer_data(customer), now=now)


def delete_customer(session: Session, customer: Customer) -> None:
    """Deletes the customer with what is theirs alone; refused, changing nothing, while
    rows that must outlive them, their tickets, still point at them."""
    try:
        with session.begin_nested():
            session.delete(customer)
    except IntegrityError:
        message = _l("This customer has tickets, which keep their customer: it cannot be deleted.")
        raise CustomerInvalid({"customer": message}) from None
