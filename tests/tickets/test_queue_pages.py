"""The queue pages through the web: roles, what a row shows, bad filters, live updates."""

from __future__ import annotations

from datetime import timedelta

from helpdesk.db import utcnow
from helpdesk.tickets.models import Ticket, TicketStatus
from tests.factories import make_customer, make_ticket
from tests.helpers import post_form


def test_agent_lands_on_the_unassigned_queue(agent_client):
    response = agent_client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/tickets")


def test_marketer_cannot_see_the_queues(marketer_client):
    assert marketer_client.get("/tickets").status_code == 403
    assert (
        marketer_client.get("/tickets/updates?since=2024-01-01T00:00:00%2B00:00").status_code == 403
    )


def test_logged_out_visitor_is_sent_to_login(client):
    response = client.get("/tickets")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_admin_sees_the_queue_too(admin_client):
    assert admin_client.get("/tickets?view=open").status_code == 200


def test_row_shows_subject_customer_and_who_replied_last(agent_client, session):
    make_customer(session, email="kim@example.com", name="김민지")
    make_ticket(session, subject="환불 요청", customer_email="kim@example.com")
    make_ticket(session, subject="Answered", customer_replied_last=False)
    page = agent_client.get("/tickets?view=unassigned").get_data(as_text=True)
    assert "환불 요청" in page and "김민지" in page
    assert page.count("Customer replied last") == 1
    assert page.count("Agent replied last") == 1


def test_view_navigation_shows_counts(agent_client, session, agent):
    make_ticket(session)
    make_ticket(session, assignee_id=agent.id)
    make_ticket(session, status=TicketStatus.closed)
    page = agent_client.get("/tickets").get_data(as_text=True)
    assert '<span class="count" data-count="unassigned">1</span>' in page
    assert '<span class="count" data-count="mine">1</span>' in page
    assert '<span class="count" data-count="open">2</span>' in page
    assert 'data-count="done"' not in page


def test_overdue_ticket_is_marked_in_red(agent_client, session):
    make_ticket(session, subject="Late one", response_due_at=utcnow() - timedelta(hours=1))
    make_ticket(session, subject="On time", response_due_at=utcnow() + timedelta(hours=1))
    page = agent_client.get("/tickets?view=open").get_data(as_text=True)
    assert page.count('class="overdue"') == 1
    assert page.count('class="error">Overdue') == 1


def test_search_through_the_page(agent_client, session):
    make_ticket(session, subject="배송 지연 문의")
    make_ticket(session, subject="Invoice")
    page = agent_client.get("/tickets?view=all&q=지연").get_data(as_text=True)
    assert "배송 지연 문의" in page and "Invoice" not in page


def test_bad_filter_values_get_a_400_with_the_reason(agent_client):
    for query in ("view=everything", "status=lost", "priority=9", "mailbox=abc", "sort=random"):
        response = agent_client.get(f"/tickets?{query}")
        assert response.status_code == 400, query
        assert "Choose a value from the list." in response.get_data(as_text=True)


def test_updates_return_new_rows_and_counts(agent_client, session):
    before = utcnow() - timedelta(minutes=5)
    ticket = make_ticket(session, subject="Fresh question")
    make_ticket(session, subject="Old", updated_at=before - timedelta(days=1))
    response = agent_client.get(
        "/tickets/updates", query_string={"view": "unassigned", "since": before.isoformat()}
    )
    assert response.status_code == 200
    data = response.get_json()
    assert [row["id"] for row in data["rows"]] == [ticket.id]
    assert "Fresh question" in data["rows"][0]["html"]
    assert data["counts"]["unassigned"] == 2
    assert data["changed"] == [ticket.id]


def test_updates_report_changed_tickets_that_left_the_view(agent_client, session, agent):
    before = utcnow() - timedelta(minutes=5)
    ticket = make_ticket(session, assignee_id=agent.id)
    data = agent_client.get(
        "/tickets/updates", query_string={"view": "unassigned", "since": before.isoformat()}
    ).get_json()
    assert data["rows"] == [] and data["changed"] == [ticket.id]


def test_updates_without_a_valid_since_get_a_json_400(agent_client):
    for since in ("", "yesterday", "2024-01-01T00:00:00"):
        response = agent_client.get("/tickets/updates", query_string={"since": since})
        assert response.status_code == 400
        assert "since" in response.get_json()["fields"]


def test_agent_can_mark_themselves_away_and_back(agent_client, session, agent):
    response = post_form(agent_client, "/tickets/availability", {"available": "0"})
    assert response.status_code == 302
    session.refresh(agent)
    assert agent.is_available is False
    session.rollback()
    page = agent_client.get("/tickets").get_data(as_text=True)
    assert "Automatic assignment skips you." in page
    post_form(agent_client, "/tickets/availability", {"available": "1"})
    session.refresh(agent)
    assert agent.is_available is True


def test_availability_toggle_needs_the_csrf_token(agent_client, session, agent):
    assert agent_client.post("/tickets/availability", data={"available": "0"}).status_code == 400
    session.refresh(agent)
    assert agent.is_available is True


def test_ticket_ids_in_the_page_can_be_selected_for_bulk_actions(agent_client, session):
    ticket = make_ticket(session)
    page = agent_client.get("/tickets").get_data(as_text=True)
    assert f'name="ticket_ids" value="{ticket.id}" form="bulk-form"' in page
    assert 'id="bulk-form"' in page and 'name="csrf_token"' in page
    assert session.get(Ticket, ticket.id) is not None
