"""/customers: list (filters, cursor pages), get, create, partial update with If-Match,
upsert by email or external id, tags, custom fields, subscription status, the timeline.
Every change goes through helpdesk.customers.service, with the rules the pages use."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from helpdesk.api.etags import check_if_match
from helpdesk.api.pagination import PageQuery, page_model
from helpdesk.api.problems import FieldError, Problem, field_errors, invalid_input
from helpdesk.api.routing import api_route, cursor_page, found
from helpdesk.customers import service
from helpdesk.customers.models import Customer, SubscriptionStatus
from helpdesk.customers.timeline import customer_timeline
from helpdesk.web import db_session

TAG = "customers"
FieldJSON = str | bool | int | float | None


class CustomerOut(BaseModel):
    id: int
    email: str
    name: str
    given_name: str
    family_name: str
    phone: str
    company: str
    external_id: str | None
    tags: list[str]
    subscription_status: SubscriptionStatus
    consent_at: datetime | None
    unsubscribed_at: datetime | None
    fields: dict[str, FieldJSON] = Field(description="Custom field values by key.")
    created_at: datetime
    updated_at: datetime


class CustomerChanges(BaseModel):
    """The fields to set; a field left out keeps its value (on create: its default)."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(None, max_length=320)
    name: str | None = Field(None, max_length=200)
    given_name: str | None = Field(None, max_length=200)
    family_name: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=50)
    company: str | None = Field(None, max_length=200)
    external_id: str | None = Field(None, max_length=100)
    tags: list[str] | None = Field(None, max_length=100, description="Replaces all tags.")
    subscription_status: SubscriptionStatus | None = None
    consent_source: str | None = Field(None, max_length=100)
    fields: dict[str, FieldJSON] | None = Field(
        None, max_length=100, description="Custom field values by key; null clears one."
    )


class CustomerIn(CustomerChanges):
    email: str = Field(max_length=320)


class CustomerListQuery(PageQuery):
    email: str | None = Field(None, max_length=320, description="Exact address, any case.")
    tag: str | None = Field(None, max_length=64)
    updated_since: AwareDatetime | None = Field(None, description="ISO 8601 with offset.")
    field: str | None = Field(None, max_length=64, description="Custom field key ...")
    value: str | None = Field(None, max_length=2000, description="... and its value.")

    @field_validator("updated_since")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        try:
            return value.astimezone(UTC) if value is not None else None
        except OverflowError:
            raise ValueError("out of range") from None


class TagsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tags: list[str] = Field(min_length=1, max_length=100)


class TimelineEntryOut(BaseModel):
    at: datetime
    kind: str
    title: str
    detail: str


class TimelineOut(BaseModel):
    data: list[TimelineEntryOut]


class TimelineQuery(BaseModel):
    limit: int = Field(50, ge=1, le=200)


CustomerPage = page_model(CustomerOut)


def _json_value(value) -> FieldJSON:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, str | bool) or value is None:
        return value
    return value.isoformat()  # a date


def customer_out(customer: Customer) -> CustomerOut:
    return CustomerOut(
        id=customer.id,
        email=customer.email,
        name=customer.name,
        given_name=customer.given_name,
        family_name=customer.family_name,
        phone=customer.phone,
        company=customer.company,
        external_id=customer.external_id,
        tags=sorted(tag.name for tag in customer.tags),
        subscription_status=customer.subscription_status,
        consent_at=customer.consent_at,
        unsubscribed_at=customer.unsubscribed_at,
        fields={
            key: _json_value(value) for key, value in service.field_values_by_key(customer).items()
        },
        created_at=customer.created_at,
        updated_at=customer.updated_at,
    )


def _field_text(value: FieldJSON) -> str:
    """A JSON value as the text the custom field parser reads (as from a form)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _customer_data(changes: CustomerChanges, current: Customer | None) -> service.CustomerData:
    """The service's input: the given fields over the stored ones (or the defaults)."""
    given = changes.model_dump(exclude_unset=True)
    data = service.CustomerData(email="")
    if current is not None:
        data = service.CustomerData(
            email=current.email,
            name=current.name,
            phone=current.phone,
            company=current.company,
            tags=[tag.name for tag in current.tags],
            subscription_status=current.subscription_status,
            consent_source=current.consent_source,
        )
    for key in ("email", "name", "phone", "company", "consent_source", "tags", "external_id"):
        if given.get(key) is not None:
            setattr(data, key, given[key])
    if given.get("subscription_status") is not None:
        data.subscription_status = given["subscription_status"]
        if not given.get("consent_source"):
            data.consent_source = "api"
    if "given_name" in given or "family_name" in given:
        data.given_name = given.get("given_name") or ""
        data.family_name = given.get("family_name") or ""
    if given.get("fields"):
        data.fields = {key: _field_text(value) for key, value in given["fields"].items()}
    return data


def _refused(exc: service.InvalidInput) -> Problem:
    """The service's form field names as the API's: cf_<key> is fields.<key>."""
    errors = {
        (f"fields.{key.removeprefix('cf_')}" if key.startswith("cf_") else key): message
        for key, message in exc.errors.items()
    }
    return invalid_input(field_errors(errors))


def _save(session: Session, changes: CustomerChanges, current: Customer | None) -> Customer:
    data = _customer_data(changes, current)
    try:
        if current is None:
            return service.create_customer(session, data)
        return service.update_customer(session, current, data)
    except service.InvalidInput as exc:
        raise _refused(exc) from None


def _locked_customer(session: Session, customer_id: int) -> Customer:
    """The customer, locked until commit, so that the If-Match check and the change see
    the same row (PostgreSQL; SQLite serializes writers anyway)."""
    return found(session.get(Customer, customer_id, with_for_update=True), "customer", customer_id)


@api_route(
    "GET",
    "/customers",
    tag=TAG,
    summary="List customers",
    scope="customers:read",
    query=CustomerListQuery,
    response=CustomerPage,
)
def list_customers(query: CustomerListQuery):
    """In id order, filtered by address, tag, change time or a custom field's value."""
    flt = service.CustomerFilter(
        email=query.email or "",
        tag=query.tag or "",
        updated_since=query.updated_since,
        field_key=query.field or "",
        field_value=query.value or "",
    )
    try:
        return cursor_page(
            CustomerPage,
            "customers",
            query,
            lambda after, limit: service.customers_after(db_session(), flt, after, limit),
            customer_out,
        )
    except service.FilterInvalid as exc:
        errors = {
            {"field_key": "field", "field_value": "value"}.get(k, k): m
            for k, m in exc.errors.items()
        }
        raise invalid_input(field_errors(errors)) from None


@api_route(
    "GET",
    "/customers/<int:customer_id>",
    tag=TAG,
    summary="Get a customer",
    scope="customers:read",
    response=CustomerOut,
    etag=True,
)
def get_customer(customer_id: int):
    return customer_out(
        found(service.get_customer(db_session(), customer_id), "customer", customer_id)
    )


@api_route(
    "POST",
    "/customers",
    tag=TAG,
    summary="Create a customer",
    scope="customers:write",
    body=CustomerIn,
    response=CustomerOut,
    status=201,
    etag=True,
)
def create_customer(body: CustomerIn):
    return customer_out(_save(db_session(), body, None))


@api_route(
    "PATCH",
    "/customers/<int:customer_id>",
    tag=TAG,
    summary="Change some fields of a customer",
    scope="customers:write",
    body=CustomerChanges,
    response=CustomerOut,
    etag=True,
    if_match=True,
)
def update_customer(customer_id: int, body: CustomerChanges):
    """Send the ETag from your last read in If-Match: 412 if the record changed since."""
    session = db_session()
    customer = _locked_customer(session, customer_id)
    check_if_match(customer_out(customer))
    return customer_out(_save(session, body, customer))


def _upsert(found: Customer | None, body: CustomerChanges):
    customer = _save(db_session(), body, found)
    return customer_out(customer), (200 if found is not None else 201)


@api_route(
    "PUT",
    "/customers/by-email/<email>",
    tag=TAG,
    summary="Create or update the customer with this address",
    scope="customers:write",
    body=CustomerChanges,
    response=CustomerOut,
    etag=True,
    errors=(201,),
    path_lengths={"email": 320},
)
def upsert_by_email(email: str, body: CustomerChanges):
    """201 when created, 200 when updated; fields left out keep their values."""
    if body.email is not None and body.email.strip().lower() != email.strip().lower():
        raise invalid_input(
            [FieldError(field="email", message="Differs from the address in the path.")]
        )
    found = service.find_customer_by_email(db_session(), email.strip())
    return _upsert(found, body.model_copy(update={"email": email}))


@api_route(
    "PUT",
    "/customers/by-external-id/<external_id>",
    tag=TAG,
    summary="Create or update the customer with this external id",
    scope="customers:write",
    body=CustomerChanges,
    response=CustomerOut,
    etag=True,
    errors=(201,),
    path_lengths={"external_id": 100},
)
def upsert_by_external_id(external_id: str, body: CustomerChanges):
    """201 when created (then `email` is required), 200 when updated."""
    found = service.find_customer_by_external_id(db_session(), external_id)
    if found is None and not body.email:
        raise invalid_input([FieldError(field="email", message="Required for a new customer.")])
    return _upsert(found, body.model_copy(update={"external_id": external_id}))


@api_route(
    "POST",
    "/customers/<int:customer_id>/tags",
    tag=TAG,
    summary="Add tags to a customer",
    scope="customers:write",
    body=TagsIn,
    response=CustomerOut,
)
def add_tags(customer_id: int, body: TagsIn):
    session = db_session()
    customer = _locked_customer(session, customer_id)
    tags = [tag.name for tag in customer.tags] + body.tags
    return customer_out(_save(session, CustomerChanges(tags=tags), customer))


@api_route(
    "DELETE",
    "/customers/<int:customer_id>/tags/<tag>",
    tag=TAG,
    summary="Remove a tag from a customer",
    scope="customers:write",
    response=CustomerOut,
    path_lengths={"tag": 64},
)
def remove_tag(customer_id: int, tag: str):
    session = db_session()
    customer = _locked_customer(session, customer_id)
    tags = [t.name for t in customer.tags if t.name != tag]
    return customer_out(_save(session, CustomerChanges(tags=tags), customer))


@api_route(
    "GET",
    "/customers/<int:customer_id>/timeline",
    tag=TAG,
    summary="The customer's timeline, newest first",
    scope="customers:read",
    query=TimelineQuery,
    response=TimelineOut,
)
def timeline(customer_id: int, query: TimelineQuery):
    """Purchases, notes, subscription changes, tickets and campaign mail, as on the page."""
    session = db_session()
    found(service.get_customer(session, customer_id), "customer", customer_id)
    entries = customer_timeline(session, customer_id, limit=query.limit)
    return TimelineOut(
        data=[
            TimelineEntryOut(at=e.at, kind=e.kind, title=str(e.title), detail=str(e.detail))
            for e in entries
        ]
    )
