"""/segments (campaigns:read): the saved segments, how many customers each holds, and its
members in cursor pages, through helpdesk.campaigns.segments: members are the customers a
campaign to the segment would mail now (subscribed, not suppressed)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from helpdesk.api.customers import CustomerPage, customer_out
from helpdesk.api.pagination import PageQuery, page_model
from helpdesk.api.problems import Problem
from helpdesk.api.routing import api_route, cursor_page, not_found
from helpdesk.campaigns import segments, service
from helpdesk.campaigns.models import Segment
from helpdesk.web import db_session

TAG = "segments"


class SegmentOut(BaseModel):
    id: int
    name: str
    description: str
    rules: dict
    created_at: datetime
    updated_at: datetime


class SegmentCountOut(BaseModel):
    segment_id: int
    count: int


SegmentPage = page_model(SegmentOut)


def _segment(segment_id: int) -> Segment:
    try:
        return service.get_segment(db_session(), segment_id)
    except service.NotFound:
        raise not_found("segment", segment_id) from None


def _unusable(exc: segments.SegmentError) -> Problem:
    # The rules were valid when saved; a custom field they name may be gone since.
    return Problem(409, "Segment cannot be used", f"Its rules cannot be used now: {exc}")


@api_route(
    "GET",
    "/segments",
    tag=TAG,
    summary="List segments",
    scope="campaigns:read",
    query=PageQuery,
    response=SegmentPage,
)
def list_segments(query: PageQuery):
    """In id order."""
    return cursor_page(
        SegmentPage,
        "segments",
        query,
        lambda after, limit: service.segments_after(db_session(), after, limit),
        lambda segment: SegmentOut.model_validate(segment, from_attributes=True),
    )


@api_route(
    "GET",
    "/segments/<int:segment_id>",
    tag=TAG,
    summary="Get a segment",
    scope="campaigns:read",
    response=SegmentOut,
    etag=True,
)
def get_segment(segment_id: int):
    return SegmentOut.model_validate(_segment(segment_id), from_attributes=True)


@api_route(
    "GET",
    "/segments/<int:segment_id>/count",
    tag=TAG,
    summary="Count a segment's members",
    scope="campaigns:read",
    response=SegmentCountOut,
    errors=(409,),
)
def count_segment(segment_id: int):
    """As of now: the number a campaign sent now would mail."""
    segment = _segment(segment_id)
    try:
        count = segments.member_count(db_session(), segment.rules)
    except segments.SegmentError as exc:
        raise _unusable(exc) from None
    return SegmentCountOut(segment_id=segment.id, count=count)


@api_route(
    "GET",
    "/segments/<int:segment_id>/members",
    tag=TAG,
    summary="List a segment's members",
    scope="campaigns:read",
    query=PageQuery,
    response=CustomerPage,
    errors=(409,),
)
def segment_members(segment_id: int, query: PageQuery):
    """Customers in id order."""
    segment = _segment(segment_id)
    try:
        return cursor_page(
            CustomerPage,
            f"segment-members:{segment.id}",
            query,
            lambda after, limit: segments.members_after(db_session(), segment.rules, after, limit),
            customer_out,
        )
    except segments.SegmentError as exc:
        raise _unusable(exc) from None
