"""The customer page's tickets and ticket timeline, by role: agents and admins see all of
it, linked; marketers see that tickets exist (subject, status), never what was written."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.customers.models import Customer
from tests.factories import make_mailbox, make_user
from tests.helpers import login
from tests.tickets.mails import ingest, mail


@pytest.fixture
def customer_with_ticket(session):
    mailbox = make_mailbox(session)
    result = ingest(session, mail("My secret order details."), mailbox=mailbox)
    customer_id = session.scalar(select(Customer.id).where(Customer.email == "minji@example.com"))
    session.commit()
    return customer_id, result.ticket_id


@pytest.mark.parametrize("role", ["agent", "admin"])
def test_support_staff_see_the_tickets_and_their_messages_linked(
    client, session, customer_with_ticket, role
):
    user = make_user(session, email=f"{role}@example.org", role=role)
    login(client, user.email)
    customer_id, ticket_id = customer_with_ticket

    page = client.get(f"/customers/{customer_id}").get_data(as_text=True)

    assert f'<a href="/tickets/{ticket_id}">#{ticket_id} Order 1001 missing</a>' in page
    assert "My secret order details." in page
    assert f"Ticket #{ticket_id} opened: Order 1001 missing" in page
    assert f'href="/tickets/new?customer_id={customer_id}"' in page


def test_marketers_see_subject_and_status_but_no_messages_or_links(
    marketer_client, customer_with_ticket
):
    customer_id, ticket_id = customer_with_ticket

    response = marketer_client.get(f"/customers/{customer_id}")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert f"#{ticket_id} Order 1001 missing" in page
    assert "New</span>" in page  # the status badge
    assert f"Ticket #{ticket_id} opened: Order 1001 missing" in page
    assert "My secret order details." not in page
    assert "/tickets/" not in page


def test_a_customer_without_tickets_says_so(agent_client, session):
    customer = Customer(email="quiet@example.com", name="Quiet")
    session.add(customer)
    session.commit()
    page = agent_client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "No tickets yet." in page
