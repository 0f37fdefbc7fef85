"""/suppressions: the addresses no campaign may mail (unsubscribes, bounces, complaints,
manual entries), read with campaigns:read and added with campaigns:write, through
helpdesk.campaigns.suppression. The list belongs to campaign sending, so it is the
campaigns area's: agents, who hold no campaign scope, neither read nor change it."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from helpdesk.api.pagination import PageQuery, page_model
from helpdesk.api.problems import FieldError, Problem, field_errors, invalid_input
from helpdesk.api.routing import api_route
from helpdesk.campaigns import suppression
from helpdesk.campaigns.models import Suppression, SuppressionReason
from helpdesk.db import utcnow
from helpdesk.web import db_session

TAG = "suppressions"


class SuppressionOut(BaseModel):
    email: str
    reason: SuppressionReason
    detail: str
    customer_id: int | None
    created_at: datetime


class SuppressionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320)
    reason: SuppressionReason = Field(
        SuppressionReason.manual,
        description="manual or unsubscribed; an unsubscribe also unsubscribes the customer.",
    )
    detail: str = Field("", max_length=2000)


class SuppressionListQuery(PageQuery):
    reason: SuppressionReason | None = None
    since: AwareDatetime | None = Field(None, description="Listed at or after; ISO 8601.")

    @field_validator("since")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        # An offset can push a time past year 9999 in UTC, where datetime ends.
        try:
            return value.astimezone(UTC) if value is not None else None
        except OverflowError:
            raise ValueError("out of range") from None


SuppressionPage = page_model(SuppressionOut)


class _EmailCursors:
    """Like helpdesk.api.pagination.Cursors, for a list ordered by address (its key)."""

    def __init__(self) -> None:
        self._serializer = URLSafeSerializer(
            current_app.config["SECRET_KEY"], salt="api-cursor:suppressions"
        )

    def encode(self, last_email: str) -> str:
        return self._serializer.dumps(last_email)

    def decode(self, cursor: str | None) -> str:
        if not cursor:
            return ""
        try:
            last_email = self._serializer.loads(cursor)
        except BadSignature:
            last_email = None
        if not isinstance(last_email, str):
            raise invalid_input([FieldError(field="cursor", message="Not a cursor of this list.")])
        return last_email


def suppression_out(row: Suppression) -> SuppressionOut:
    return SuppressionOut.model_validate(row, from_attributes=True)


@api_route(
    "GET",
    "/suppressions",
    tag=TAG,
    summary="List suppressed addresses",
    scope="campaigns:read",
    query=SuppressionListQuery,
    response=SuppressionPage,
)
def list_suppressions(query: SuppressionListQuery):
    """In address order; by reason (unsubscribed: the unsubscribes) and listing time."""
    cursors = _EmailCursors()
    rows = suppression.suppressions_after(
        db_session(),
        cursors.decode(query.cursor),
        query.limit + 1,
        reason=query.reason,
        since=query.since,
    )
    page = rows[: query.limit]
    return SuppressionPage(
        data=[suppression_out(s) for s in page],
        next_cursor=cursors.encode(page[-1].email) if len(rows) > query.limit else None,
    )


@api_route(
    "GET",
    "/suppressions/<email>",
    tag=TAG,
    summary="Is this address suppressed?",
    scope="campaigns:read",
    response=SuppressionOut,
    path_lengths={"email": 320},
)
def get_suppression(email: str):
    """404 when campaigns may mail it."""
    row = db_session().get(Suppression, email.strip().lower())
    if row is None:
        raise Problem(404, "Not found", "This address is not on the suppression list.")
    return suppression_out(row)


@api_route(
    "POST",
    "/suppressions",
    tag=TAG,
    summary="Suppress an address",
    scope="campaigns:write",
    body=SuppressionIn,
    response=SuppressionOut,
    status=201,
    errors=(200,),
)
def add_suppression(body: SuppressionIn):
    """201 when added; 200 when it was listed already (it keeps its first reason)."""
    try:
        row, added = suppression.add_suppression(
            db_session(), body.email, body.reason, detail=body.detail, now=utcnow()
        )
    except suppression.SuppressionInvalid as exc:
        raise invalid_input(field_errors(exc.errors)) from None
    return suppression_out(row), (201 if added else 200)
