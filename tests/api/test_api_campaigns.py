"""/segments, /campaigns and /suppressions over real HTTP: segment counts and members,
campaigns with their report figures, the suppression list read and added to; only the
campaigns scopes (marketers, admins) open them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.campaigns.models import Suppression, SuppressionReason
from helpdesk.customers.models import Customer, SubscriptionStatus
from helpdesk.db import utcnow
from tests.api.conftest import bearer
from tests.factories import (
    make_api_token,
    make_campaign,
    make_delivery,
    make_segment,
    make_sending_campaign,
    make_subscribers,
)

PROBLEM = "application/problem+json"


@pytest.fixture
def reader(session, marketer):
    return bearer(make_api_token(session, marketer, scopes=["campaigns:read"]))


@pytest.fixture
def writer(session, marketer):
    return bearer(make_api_token(session, marketer, scopes=["campaigns:read", "campaigns:write"]))


def _suppressed(session) -> list[tuple[str, SuppressionReason]]:
    session.expire_all()
    rows = session.execute(select(Suppression.email, Suppression.reason)).all()
    session.commit()
    return sorted(tuple(row) for row in rows)


# --- segments ------------------------------------------------------------------------


def test_segments_are_listed(api, session, reader):
    segment = make_segment(session, name="Everyone")

    response = api.get("/segments", headers=reader)

    assert [(s["id"], s["name"]) for s in response.json()["data"]] == [(segment.id, "Everyone")]


def test_segment_count_leaves_out_suppressed_customers(api, session, reader):
    customers = make_subscribers(session, 3)
    session.add(
        Suppression(email=customers[0].email, reason=SuppressionReason.manual, created_at=utcnow())
    )
    session.commit()
    segment = make_segment(session)

    response = api.get(f"/segments/{segment.id}/count", headers=reader)

    assert response.json() == {"segment_id": segment.id, "count": 2}


def test_segment_members_come_in_cursor_pages(api, session, reader):
    customers = make_subscribers(session, 3)
    segment = make_segment(session)

    first = api.get(f"/segments/{segment.id}/members", params={"limit": 2}, headers=reader)
    rest = api.get(
        f"/segments/{segment.id}/members",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=reader,
    )

    emails = [c["email"] for c in first.json()["data"] + rest.json()["data"]]
    assert emails == [c.email for c in customers]
    assert rest.json()["next_cursor"] is None


def test_members_cursor_of_another_list_is_refused(api, session, reader):
    make_subscribers(session, 3)
    segment = make_segment(session)
    other = api.get("/segments", params={"limit": 1}, headers=reader)
    make_segment(session, name="Second")
    cursor = api.get("/segments", params={"limit": 1}, headers=reader).json()["next_cursor"]
    assert other.status_code == 200

    response = api.get(f"/segments/{segment.id}/members", params={"cursor": cursor}, headers=reader)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["cursor"]


def test_unknown_segment_is_404(api, reader):
    assert api.get("/segments/999999/count", headers=reader).status_code == 404


# --- campaigns -----------------------------------------------------------------------


def test_campaigns_are_listed_by_status(api, session, reader):
    draft = make_campaign(session)

    drafts = api.get("/campaigns", params={"status": "draft"}, headers=reader)
    sent = api.get("/campaigns", params={"status": "sent"}, headers=reader)

    assert [c["id"] for c in drafts.json()["data"]] == [draft.id]
    assert sent.json()["data"] == []


def test_campaign_comes_with_its_report_figures(api, session, reader):
    campaign = make_sending_campaign(session)
    opened, bounced = make_subscribers(session, 2)
    make_delivery(session, campaign, opened, open_count=2, first_opened_at=utcnow())
    make_delivery(session, campaign, bounced, bounce_kind="hard", bounced_at=utcnow())

    response = api.get(f"/campaigns/{campaign.id}", headers=reader)

    figures = response.json()["figures"]
    assert response.status_code == 200
    assert (figures["recipients"], figures["sent"], figures["delivered"]) == (2, 2, 1)
    assert (figures["human_opens"], figures["hard_bounces"], figures["open_rate"]) == (1, 1, 1.0)


def test_unknown_campaign_is_404(api, reader):
    response = api.get("/campaigns/999999", headers=reader)

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


def test_bad_status_filter_names_the_field(api, reader):
    response = api.get("/campaigns", params={"status": "lost"}, headers=reader)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["status"]


# --- suppressions --------------------------------------------------------------------


def test_suppressions_are_listed_by_reason(api, session, writer):
    api.post("/suppressions", headers=writer, json={"email": "a@example.com"})
    api.post(
        "/suppressions", headers=writer, json={"email": "b@example.com", "reason": "unsubscribed"}
    )

    response = api.get("/suppressions", params={"reason": "unsubscribed"}, headers=writer)

    assert [s["email"] for s in response.json()["data"]] == ["b@example.com"]


def test_suppressions_come_in_cursor_pages(api, session, writer):
    for name in ("c", "a", "b"):
        api.post("/suppressions", headers=writer, json={"email": f"{name}@example.com"})

    first = api.get("/suppressions", params={"limit": 2}, headers=writer)
    rest = api.get(
        "/suppressions", params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=writer
    )

    emails = [s["email"] for s in first.json()["data"] + rest.json()["data"]]
    assert emails == ["a@example.com", "b@example.com", "c@example.com"]


def test_adding_an_unsubscribe_unsubscribes_the_customer(api, session, writer):
    [customer] = make_subscribers(session, 1)

    response = api.post(
        "/suppressions",
        headers=writer,
        json={"email": customer.email.upper(), "reason": "unsubscribed"},
    )

    assert response.status_code == 201
    assert response.json()["customer_id"] == customer.id
    session.commit()  # ends the read transaction make_subscribers left open
    status = session.scalar(select(Customer.subscription_status).where(Customer.id == customer.id))
    session.commit()
    assert status == SubscriptionStatus.unsubscribed


def test_adding_a_listed_address_keeps_its_first_reason(api, session, writer):
    api.post("/suppressions", headers=writer, json={"email": "a@example.com"})

    response = api.post(
        "/suppressions", headers=writer, json={"email": "a@example.com", "reason": "unsubscribed"}
    )

    assert response.status_code == 200
    assert _suppressed(session) == [("a@example.com", SuppressionReason.manual)]


def test_bad_address_names_the_field_and_adds_nothing(api, session, writer):
    response = api.post("/suppressions", headers=writer, json={"email": "nobody"})

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["email"]
    assert _suppressed(session) == []


def test_bounce_reasons_come_only_from_mail(api, session, writer):
    response = api.post(
        "/suppressions", headers=writer, json={"email": "a@example.com", "reason": "hard_bounce"}
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["reason"]
    assert _suppressed(session) == []


def test_suppression_lookup_by_address(api, session, writer):
    api.post("/suppressions", headers=writer, json={"email": "a@example.com"})

    assert api.get("/suppressions/A@example.com", headers=writer).status_code == 200
    assert api.get("/suppressions/b@example.com", headers=writer).status_code == 404


def test_read_token_cannot_add(api, session, reader):
    response = api.post("/suppressions", headers=reader, json={"email": "a@example.com"})

    assert response.status_code == 403
    assert _suppressed(session) == []


# --- scopes by role ------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["campaigns:read", "campaigns:write"])
def test_agents_get_no_campaign_scopes(session, agent, scope):
    with pytest.raises(ValueError):
        make_api_token(session, agent, scopes=[scope])


@pytest.mark.parametrize("path", ["/segments", "/campaigns", "/suppressions"])
def test_admin_token_reads_the_campaign_lists(api, session, admin, path):
    secret = make_api_token(session, admin, scopes=["campaigns:read"])

    assert api.get(path, headers=bearer(secret)).status_code == 200


@pytest.mark.parametrize("path", ["/segments", "/campaigns", "/suppressions"])
def test_customer_scope_does_not_open_the_campaign_lists(api, session, agent, path):
    secret = make_api_token(session, agent, scopes=["customers:read"])

    assert api.get(path, headers=bearer(secret)).status_code == 403
