"""Events are written in the transaction of the change they report: committed with it,
rolled back with it, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.campaigns.suppression import unsubscribe_customer
from helpdesk.customers.service import CustomerData, create_customer, update_customer
from helpdesk.db import utcnow
from helpdesk.events.models import Event
from helpdesk.events.service import Subject, new_event_uid, record_events
from helpdesk.tickets.service import set_status
from tests.factories import make_customer, make_ticket
from tests.tickets.mails import ingest, mail


def _events(session) -> list[Event]:
    session.rollback()
    session.expire_all()
    return list(session.scalars(select(Event).order_by(Event.id)))


def test_a_new_customer_is_recorded_as_an_event_when_it_commits(session):
    customer = create_customer(session, CustomerData(email="minji@example.com", name="Kim Minji"))
    session.commit()

    [event] = _events(session)
    assert (event.type, event.subject_kind, event.subject_id) == (
        "customer.created",
        "customer",
        customer.id,
    )
    assert event.payload["email"] == "minji@example.com"
    assert event.uid.startswith("evt_")


def test_a_rolled_back_change_leaves_no_event(session):
    create_customer(session, CustomerData(email="gone@example.com"))
    session.flush()

    session.rollback()

    assert _events(session) == []


def test_an_update_records_customer_updated(session):
    customer = make_customer(session, email="a@example.com")

    update_customer(session, customer, CustomerData(email="a@example.com", name="New Name"))
    session.commit()

    assert [e.type for e in _events(session)] == ["customer.created", "customer.updated"]


def test_a_status_change_records_ticket_status_changed(session, agent):
    ticket = make_ticket(session)

    set_status(session, ticket.id, "resolved", actor_id=agent.id)
    session.commit()

    [event] = _events(session)
    assert event.type == "ticket.status_changed"
    assert (event.payload["status"], event.payload["previous_status"]) == ("resolved", "new")


def test_an_unsubscribe_records_one_event_however_often_it_is_clicked(session):
    customer = make_customer(session, email="bye@example.com", subscription_status="subscribed")

    unsubscribe_customer(session, customer.id, now=utcnow())
    unsubscribe_customer(session, customer.id, now=utcnow())
    session.commit()

    assert [e.type for e in _events(session)] == ["customer.created", "customer.unsubscribed"]


def test_bulk_recording_writes_one_row_per_item(session):
    record_events(session, "campaign.sent", [(Subject("campaign", n), {"n": n}) for n in range(3)])
    session.commit()

    assert [e.subject_id for e in _events(session)] == [0, 1, 2]


def test_event_ids_are_unique_and_sort_by_time():
    uids = [new_event_uid() for _ in range(1000)]

    assert len(set(uids)) == 1000
    assert all(len(uid) == 30 for uid in uids)


def test_mail_from_a_new_address_records_the_customer_and_the_ticket(session):
    ingest(session, mail())

    [customer, ticket] = _events(session)
    assert (customer.type, ticket.type) == ("customer.created", "ticket.created")
    assert ticket.payload["customer_id"] == customer.subject_id


def test_a_reply_from_the_customer_records_message_received(session):
    ingest(session, mail())

    ingest(
        session,
        mail(
            "Any news?", message_id="<m2@example.com>", headers={"In-Reply-To": "<m1@example.com>"}
        ),
    )

    assert [e.type for e in _events(session)][2:] == ["ticket.message_received"]
