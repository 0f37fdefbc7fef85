"""/purchases: orders from a shop or another system, one or up to 1,000 per request,
stored once per (source, order_id) by helpdesk.customers.service.upsert_orders; listed
and read back with their status and refunds."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from helpdesk.api.pagination import PageQuery, page_model
from helpdesk.api.problems import field_errors, invalid_input
from helpdesk.api.routing import api_route, cursor_page, found
from helpdesk.customers import service
from helpdesk.customers.models import Purchase, PurchaseStatus
from helpdesk.input_bounds import MAX_ID
from helpdesk.web import db_session

TAG = "purchases"


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=100, description="The source's order id.")
    customer_id: int | None = Field(None, ge=1, le=MAX_ID)
    customer_email: str | None = Field(
        None, max_length=320, description="A new address makes a new customer."
    )
    customer_external_id: str | None = Field(None, max_length=100)
    customer_name: str = Field("", max_length=200)
    product: str = Field(max_length=200)
    quantity: int = Field(1, ge=1, le=1_000_000)
    amount: Decimal = Field(description='What was paid for the order, like "19.90".')
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217, like KRW.")
    purchased_at: datetime | date = Field(description="ISO 8601; without an offset: UTC.")
    status: PurchaseStatus = PurchaseStatus.paid
    refunded_amount: Decimal | None = Field(
        None, description="Refunded so far; status refunded without it: all of it."
    )


class SingleOrderIn(OrderIn):
    source: str = Field(min_length=1, max_length=50, description='Your system, like "shop".')


class OrderBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=50, description='Your system, like "shop".')
    orders: list[OrderIn] = Field(min_length=1, max_length=service.MAX_ORDERS)


class OrderResultOut(BaseModel):
    order_id: str
    purchase_id: int
    customer_id: int
    outcome: str = Field(description="created, updated or unchanged.")


class OrderBatchOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    results: list[OrderResultOut]


class PurchaseOut(BaseModel):
    id: int
    customer_id: int
    source: str | None
    order_id: str | None
    product: str
    quantity: int
    amount: Decimal
    refunded_amount: Decimal
    currency: str
    status: PurchaseStatus
    purchased_at: datetime
    created_at: datetime
    updated_at: datetime | None


class PurchaseListQuery(PageQuery):
    customer_id: int | None = Field(None, ge=1, le=MAX_ID)
    source: str | None = Field(None, max_length=50)
    order_id: str | None = Field(None, max_length=100)


PurchasePage = page_model(PurchaseOut)


def purchase_out(purchase: Purchase) -> PurchaseOut:
    return PurchaseOut.model_validate(purchase, from_attributes=True)


def _order_data(order: OrderIn) -> service.OrderData:
    return service.OrderData(**order.model_dump(exclude={"source"}))


def _upsert(session: Session, source: str, orders: list[OrderIn]) -> list[service.OrderResult]:
    try:
        return service.upsert_orders(session, source, [_order_data(o) for o in orders])
    except service.OrdersInvalid as exc:
        errors = {}
        for key, message in exc.errors.items():
            index, _, name = key.partition(".")
            errors[f"orders[{index}].{name}" if index.isdigit() else key] = message
        raise invalid_input(field_errors(errors)) from None


@api_route(
    "POST",
    "/purchases/batch",
    tag=TAG,
    summary="Store up to 1,000 orders",
    scope="purchases:write",
    body=OrderBatchIn,
    response=OrderBatchOut,
)
def import_orders(body: OrderBatchIn):
    """Each order once per (source, order_id): sent again unchanged it stays as it is,
    changed (amount, status, refund) it is updated. One refused order refuses the batch."""
    results = _upsert(db_session(), body.source, body.orders)
    counts = {outcome: 0 for outcome in ("created", "updated", "unchanged")}
    for result in results:
        counts[result.outcome] += 1
    return OrderBatchOut(
        **counts,
        results=[OrderResultOut.model_validate(r, from_attributes=True) for r in results],
    )


@api_route(
    "POST",
    "/purchases",
    tag=TAG,
    summary="Store one order",
    scope="purchases:write",
    body=SingleOrderIn,
    response=PurchaseOut,
    errors=(200,),
)
def import_order(body: SingleOrderIn):
    """201 when new, 200 when the order was stored before (updated if it changed)."""
    session = db_session()
    result = _upsert(session, body.source, [body])[0]
    purchase = session.get(Purchase, result.purchase_id, populate_existing=True)
    return purchase_out(purchase), (201 if result.outcome == "created" else 200)


@api_route(
    "GET",
    "/purchases",
    tag=TAG,
    summary="List purchases",
    scope="purchases:read",
    query=PurchaseListQuery,
    response=PurchasePage,
)
def list_purchases(query: PurchaseListQuery):
    """In id order; filtered by customer, source and order id."""
    return cursor_page(
        PurchasePage,
        "purchases",
        query,
        lambda after, limit: service.purchases_after(
            db_session(),
            after,
            limit,
            customer_id=query.customer_id,
            source=query.source,
            order_id=query.order_id,
        ),
        purchase_out,
    )


@api_route(
    "GET",
    "/purchases/<int:purchase_id>",
    tag=TAG,
    summary="Get a purchase",
    scope="purchases:read",
    response=PurchaseOut,
    etag=True,
)
def get_purchase(purchase_id: int):
    return purchase_out(found(db_session().get(Purchase, purchase_id), "purchase", purchase_id))
