"""/tickets over real HTTP: the queue list, a ticket with its messages, a ticket opened on
behalf of a customer, replies with the double-reply guard, notes, assignment and the
If-Match guarded changes; refusals are problem+json and change nothing."""

from __future__ import annotations

import pytest
from rq import Queue
from sqlalchemy import func, select

from helpdesk.mail.models import RawMessage, RawSource
from helpdesk.queue import MAIL_QUEUE
from helpdesk.tickets.jobs import send_ticket_message
from helpdesk.tickets.models import (
    Attachment,
    Message,
    MessageKind,
    SendStatus,
    Ticket,
    TicketStatus,
)
from tests.api.conftest import bearer
from tests.factories import make_api_token, make_mailbox, make_message, make_ticket, make_user

PROBLEM = "application/problem+json"
BOTH = ["tickets:read", "tickets:write"]


@pytest.fixture
def agent_token(session, agent):
    return bearer(make_api_token(session, agent, scopes=BOTH))


@pytest.fixture
def conversation(session):
    """A ticket with the customer's first mail; (ticket, that message)."""
    make_mailbox(session)
    ticket = make_ticket(session, subject="Where is my order?")
    first = make_message(
        session, ticket, body_text="Order 1001 has not arrived.", from_email="customer@example.com"
    )
    return ticket, first


def _count(session, model) -> int:
    session.expire_all()
    count = session.scalar(select(func.count()).select_from(model))
    session.commit()
    return count


def _jobs(redis_conn):
    return [(j.func_name, j.args) for j in Queue(MAIL_QUEUE, connection=redis_conn).get_jobs()]


# --- list and get --------------------------------------------------------------------


def test_list_filters_by_status_in_cursor_pages(api, session, agent_token):
    ids = [make_ticket(session, subject=f"T{n}", status=TicketStatus.open).id for n in range(3)]
    make_ticket(session, subject="Done", status=TicketStatus.closed)

    first = api.get("/tickets", params={"status": "open", "limit": 2}, headers=agent_token)
    second = api.get(
        "/tickets",
        params={"status": "open", "limit": 2, "cursor": first.json()["next_cursor"]},
        headers=agent_token,
    )

    assert [t["id"] for t in first.json()["data"]] == ids[:2]
    assert [t["id"] for t in second.json()["data"]] == ids[2:]
    assert second.json()["next_cursor"] is None


def test_list_filters_by_assignee_and_tag(api, session, agent, agent_token):
    from helpdesk.tickets import service

    held = make_ticket(session, subject="Mine", assignee_id=agent.id)
    make_ticket(session, subject="Nobody's")
    service.set_tags(session, held.id, "vip", actor_id=agent.id)
    session.commit()

    by_assignee = api.get("/tickets", params={"assignee_id": agent.id}, headers=agent_token)
    by_tag = api.get("/tickets", params={"tag": "vip"}, headers=agent_token)

    assert [t["id"] for t in by_assignee.json()["data"]] == [held.id]
    assert [(t["id"], t["tags"]) for t in by_tag.json()["data"]] == [(held.id, ["vip"])]


def test_list_filters_by_change_time(api, session, agent_token):
    from datetime import UTC, datetime

    make_ticket(session, subject="Old", updated_at=datetime(2024, 1, 1, tzinfo=UTC))
    recent = make_ticket(session, subject="Recent", updated_at=datetime(2026, 6, 1, tzinfo=UTC))

    response = api.get(
        "/tickets", params={"updated_since": "2025-01-01T00:00:00+09:00"}, headers=agent_token
    )

    assert [t["id"] for t in response.json()["data"]] == [recent.id]


def test_list_with_an_unknown_status_names_the_field(api, agent_token):
    response = api.get("/tickets", params={"status": "sleeping"}, headers=agent_token)

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == ["status"]


def test_get_shows_messages_with_attachment_metadata_and_an_etag(
    api, session, conversation, agent_token
):
    ticket, first = conversation
    session.add(
        Attachment(
            message_id=first.id, filename="receipt.pdf", content_type="application/pdf", size=42
        )
    )
    session.commit()

    response = api.get(f"/tickets/{ticket.id}", headers=agent_token)

    body = response.json()
    assert response.status_code == 200
    assert response.headers["etag"]
    assert body["latest_message_id"] == first.id
    [message] = body["messages"]
    assert (message["kind"], message["body_text"]) == ("customer", "Order 1001 has not arrived.")
    assert message["attachments"][0] | {"id": 0} == {
        "id": 0,
        "filename": "receipt.pdf",
        "content_type": "application/pdf",
        "size": 42,
        "inline": False,
    }


def test_unknown_ticket_is_404_problem(api, agent_token):
    response = api.get("/tickets/999999", headers=agent_token)

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


# --- opening a ticket for a customer -------------------------------------------------


def test_create_takes_the_message_in_like_mail(api, session, agent_token):
    make_mailbox(session)

    response = api.post(
        "/tickets",
        headers=agent_token,
        json={
            "customer_email": "jiwoo@example.com",
            "customer_name": "Park Jiwoo",
            "subject": "환불 문의",
            "body": "주문을 취소하고 싶어요.",
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body["subject"] == "환불 문의"
    assert [(m["kind"], m["from_email"]) for m in body["messages"]] == [
        ("customer", "jiwoo@example.com")
    ]
    assert "주문을 취소하고 싶어요." in body["messages"][0]["body_text"]
    session.expire_all()
    assert session.scalars(select(RawMessage.source)).all() == [RawSource.api]
    session.commit()


def test_create_with_a_bad_address_names_the_field_and_stores_nothing(api, session, agent_token):
    response = api.post(
        "/tickets",
        headers=agent_token,
        json={"customer_email": "not an address", "subject": "Hi", "body": "Hello"},
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["customer_email"]
    assert _count(session, Ticket) == 0
    assert _count(session, RawMessage) == 0


def test_create_with_an_unknown_field_is_refused(api, session, agent_token):
    response = api.post(
        "/tickets",
        headers=agent_token,
        json={"customer_email": "a@example.com", "subject": "Hi", "body": "x", "urgent": True},
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["urgent"]
    assert _count(session, Ticket) == 0


def test_create_with_an_unknown_mailbox_names_the_field(api, session, agent_token):
    response = api.post(
        "/tickets",
        headers=agent_token,
        json={"customer_email": "a@example.com", "subject": "Hi", "body": "x", "mailbox_id": 999},
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["mailbox_id"]
    assert _count(session, Ticket) == 0


def test_create_repeated_with_the_same_idempotency_key_opens_one_ticket(api, session, agent_token):
    make_mailbox(session)
    request = {"customer_email": "a@example.com", "subject": "Hi", "body": "Hello"}
    headers = agent_token | {"Idempotency-Key": "order-1001-question"}

    first = api.post("/tickets", headers=headers, json=request)
    again = api.post("/tickets", headers=headers, json=request)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert _count(session, Ticket) == 1


# --- replies -------------------------------------------------------------------------


def test_reply_is_stored_queued_and_sent_by_the_job(
    api, session, conversation, agent_token, redis_conn, smtp_sink, smtp_handler
):
    ticket, first = conversation

    response = api.post(
        f"/tickets/{ticket.id}/replies",
        headers=agent_token,
        json={"body": "It ships today.", "seen_message_id": first.id},
    )

    assert response.status_code == 201
    reply = response.json()
    assert (reply["kind"], reply["send_status"]) == ("reply", "queued")
    assert _jobs(redis_conn) == [("helpdesk.tickets.jobs.send_ticket_message", (reply["id"],))]
    assert send_ticket_message(reply["id"], smtp_url=smtp_sink.url) == SendStatus.sent
    [sent] = smtp_handler.received
    assert sent.rcpt_tos == ["customer@example.com"]
    assert "It ships today." in sent.message.get_body(("plain",)).get_content()


def test_reply_refused_with_the_new_messages_when_the_customer_wrote_meanwhile(
    api, session, conversation, agent_token, redis_conn
):
    ticket, first = conversation
    newer = make_message(session, ticket, body_text="Never mind, it arrived.")

    response = api.post(
        f"/tickets/{ticket.id}/replies",
        headers=agent_token,
        json={"body": "It ships today.", "seen_message_id": first.id},
    )

    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["latest_message_id"] == newer.id
    assert [(m["id"], m["body_text"]) for m in problem["new_messages"]] == [
        (newer.id, "Never mind, it arrived.")
    ]
    assert _count(session, Message) == 2
    assert _jobs(redis_conn) == []


def test_reply_sent_again_with_the_latest_id_goes_through(
    api, session, conversation, agent_token, redis_conn
):
    ticket, first = conversation
    newer = make_message(session, ticket, body_text="Any news?")

    response = api.post(
        f"/tickets/{ticket.id}/replies",
        headers=agent_token,
        json={"body": "It ships today.", "seen_message_id": newer.id},
    )

    assert response.status_code == 201


def test_empty_reply_names_the_body_and_changes_nothing(
    api, session, conversation, agent_token, redis_conn
):
    ticket, first = conversation

    response = api.post(
        f"/tickets/{ticket.id}/replies",
        headers=agent_token,
        json={"body": "   ", "seen_message_id": first.id},
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body"]
    assert _count(session, Message) == 1
    assert _jobs(redis_conn) == []


def test_reply_naming_a_message_of_another_ticket_is_refused(
    api, session, conversation, agent_token
):
    ticket, _first = conversation
    other = make_message(session, make_ticket(session, subject="Other"), body_text="x")

    response = api.post(
        f"/tickets/{ticket.id}/replies",
        headers=agent_token,
        json={"body": "Hello", "seen_message_id": other.id},
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["seen_message_id"]


def test_reply_to_an_unknown_ticket_is_404(api, agent_token):
    response = api.post(
        "/tickets/999999/replies", headers=agent_token, json={"body": "Hi", "seen_message_id": 0}
    )

    assert response.status_code == 404


def test_service_token_cannot_reply_for_nobody(api, session, admin, conversation):
    from helpdesk.api.models import TokenKind

    ticket, first = conversation
    secret = make_api_token(session, admin, kind=TokenKind.service, scopes=BOTH)

    response = api.post(
        f"/tickets/{ticket.id}/replies",
        headers=bearer(secret),
        json={"body": "Hello", "seen_message_id": first.id},
    )

    assert response.status_code == 403
    assert _count(session, Message) == 1


# --- notes and assignment ------------------------------------------------------------


def test_note_is_stored_and_not_mailed(api, session, conversation, agent, agent_token, redis_conn):
    ticket, _first = conversation

    response = api.post(f"/tickets/{ticket.id}/notes", headers=agent_token, json={"body": "VIP"})

    assert response.status_code == 201
    assert (response.json()["kind"], response.json()["author_id"]) == ("note", agent.id)
    assert _jobs(redis_conn) == []


def test_assign_takes_an_unassigned_ticket(api, session, conversation, agent, agent_token):
    ticket, _first = conversation

    response = api.put(
        f"/tickets/{ticket.id}/assignee",
        headers=agent_token,
        json={"assignee_id": agent.id, "expected_assignee_id": None},
    )

    assert response.status_code == 200
    assert response.json()["assignee_id"] == agent.id


def test_assign_refused_when_someone_took_it_meanwhile(
    api, session, conversation, agent, agent_token
):
    ticket, _first = conversation
    other = make_user(session, role="agent", email="bo@example.com", name="Bo")
    ticket.assignee_id = other.id
    session.commit()

    response = api.put(
        f"/tickets/{ticket.id}/assignee",
        headers=agent_token,
        json={"assignee_id": agent.id, "expected_assignee_id": None},
    )

    assert response.status_code == 409
    assert "Bo" in response.json()["detail"]
    session.expire_all()
    assert session.get(Ticket, ticket.id).assignee_id == other.id


def test_assign_to_an_unknown_agent_names_the_field(api, session, conversation, agent_token):
    ticket, _first = conversation

    response = api.put(
        f"/tickets/{ticket.id}/assignee",
        headers=agent_token,
        json={"assignee_id": 999999, "expected_assignee_id": None},
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["assignee_id"]


# --- status, priority, tags under If-Match -------------------------------------------


def test_patch_with_the_current_etag_sets_status_priority_and_tags(
    api, session, conversation, agent_token
):
    ticket, _first = conversation
    etag = api.get(f"/tickets/{ticket.id}", headers=agent_token).headers["etag"]

    response = api.patch(
        f"/tickets/{ticket.id}",
        headers=agent_token | {"If-Match": etag},
        json={"status": "resolved", "priority": "high", "tags": ["refund", "VIP"]},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["priority"], body["tags"]) == (
        "resolved",
        "high",
        ["refund", "vip"],
    )
    assert response.headers["etag"] != etag


def test_patch_after_a_new_message_is_412_and_changes_nothing(
    api, session, conversation, agent_token
):
    ticket, _first = conversation
    etag = api.get(f"/tickets/{ticket.id}", headers=agent_token).headers["etag"]
    make_message(session, ticket, body_text="One more thing")

    response = api.patch(
        f"/tickets/{ticket.id}", headers=agent_token | {"If-Match": etag}, json={"status": "closed"}
    )

    assert response.status_code == 412
    assert response.headers["content-type"] == PROBLEM
    session.expire_all()
    assert session.get(Ticket, ticket.id).status == TicketStatus.new


def test_patch_without_if_match_is_428(api, session, conversation, agent_token):
    ticket, _first = conversation

    response = api.patch(f"/tickets/{ticket.id}", headers=agent_token, json={"status": "closed"})

    assert response.status_code == 428


def test_patch_with_a_bad_priority_names_the_field_and_changes_nothing(
    api, session, conversation, agent_token
):
    ticket, _first = conversation
    etag = api.get(f"/tickets/{ticket.id}", headers=agent_token).headers["etag"]

    response = api.patch(
        f"/tickets/{ticket.id}",
        headers=agent_token | {"If-Match": etag},
        json={"status": "closed", "priority": "whenever"},
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["priority"]
    session.expire_all()
    assert session.get(Ticket, ticket.id).status == TicketStatus.new


# --- scopes --------------------------------------------------------------------------


def test_read_only_token_cannot_write(api, session, agent, conversation):
    ticket, _first = conversation
    secret = make_api_token(session, agent, scopes=["tickets:read"])

    response = api.post(f"/tickets/{ticket.id}/notes", headers=bearer(secret), json={"body": "x"})

    assert response.status_code == 403
    assert _count(session, Message) == 1


@pytest.mark.parametrize("scope", BOTH)
def test_marketers_get_no_ticket_scopes(session, marketer, scope):
    with pytest.raises(ValueError):
        make_api_token(session, marketer, scopes=[scope])


def test_admin_token_reads_tickets(api, session, admin, conversation):
    ticket, _first = conversation
    secret = make_api_token(session, admin, scopes=["tickets:read"])

    assert api.get(f"/tickets/{ticket.id}", headers=bearer(secret)).status_code == 200


def test_message_kinds_are_listed_as_stored(api, session, conversation, agent_token):
    ticket, _first = conversation
    make_message(session, ticket, kind=MessageKind.note, body_text="internal")

    kinds = [
        m["kind"] for m in api.get(f"/tickets/{ticket.id}", headers=agent_token).json()["messages"]
    ]

    assert kinds == ["customer", "note"]
