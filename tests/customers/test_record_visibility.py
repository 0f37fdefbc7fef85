"""What each role reads on a customer's page: everyone sees who the customer is, their
consent, tags, fields, purchases and campaign history; only the support team (admins and
agents) reads the internal contact notes, on the page and in the timeline."""

import pytest

from helpdesk.customers import service
from tests.factories import (
    make_custom_field,
    make_customer,
    make_delivery,
    make_purchase,
    make_sending_campaign,
    make_user,
)
from tests.helpers import login

NOTE_BODY = "Said on the phone that she is considering a chargeback"

# section of the page -> text that only that section shows
SECTIONS = {
    "identity": "minji@example.com",
    "consent": "Consent",
    "tags": "vip",
    "custom fields": "Loyalty tier",
    "purchases": "Blue kettle",
    "campaign history": "Sent campaign Spring news",
    "contact notes section": 'id="notes"',
    "note text": NOTE_BODY[:40],
}

INTERNAL = {"contact notes section", "note text"}

READS = {
    "admin": set(SECTIONS),
    "agent": set(SECTIONS),
    "marketer": set(SECTIONS) - INTERNAL,
}


@pytest.fixture
def customer_with_everything(session):
    author = make_user(session, role="agent", email="author@example.com", name="Note Author")
    make_custom_field(session, key="tier", label="Loyalty tier")
    customer = make_customer(
        session,
        email="minji@example.com",
        name="김민지",
        tags="vip",
        subscription_status="subscribed",
        consent_source="web form",
    )
    make_purchase(session, customer, product="Blue kettle")
    make_delivery(session, make_sending_campaign(session), customer)
    service.add_note(
        session,
        customer,
        author_id=author.id,
        kind="call",
        happened_at="2024-06-01T10:30",
        body=NOTE_BODY,
    )
    session.commit()
    return customer


@pytest.mark.parametrize("role", sorted(READS))
@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_customer_page_shows_each_section_only_to_the_roles_that_need_it(
    client, session, customer_with_everything, role, section
):
    user = make_user(session, role=role, email=f"{role}@example.com")
    login(client, user.email)
    response = client.get(f"/customers/{customer_with_everything.id}")
    assert response.status_code == 200
    shown = SECTIONS[section] in response.get_data(as_text=True)
    assert shown == (section in READS[role])


def test_marketer_timeline_leaves_out_notes_but_keeps_campaigns(session, customer_with_everything):
    from helpdesk.auth.models import Role

    record = service.customer_record(session, customer_with_everything, Role.marketer)
    kinds = {entry.kind for entry in record.timeline}
    assert record.notes is None
    assert "note" not in kinds
    assert "campaign" in kinds


def test_marketer_cannot_add_a_contact_note(client, session, customer_with_everything):
    from tests.helpers import post_form

    user = make_user(session, role="marketer", email="marketer@example.com")
    login(client, user.email)
    response = post_form(
        client,
        f"/customers/{customer_with_everything.id}/notes",
        {"kind": "call", "happened_at": "2024-06-01T10:30", "body": "hello"},
    )
    assert response.status_code == 403
    assert len(service.notes_of(session, customer_with_everything.id)) == 1
