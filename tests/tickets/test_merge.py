"""Likely duplicates are found, merging moves everything into the survivor, and later
mail to either conversation lands in the survivor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.db import utcnow
from helpdesk.tickets import display, merging, service
from helpdesk.tickets.models import Message, MessageKind, Ticket, TicketStatus
from helpdesk.tickets.threading import make_message_id
from tests.factories import make_mailbox, make_message, make_ticket
from tests.helpers import post_form
from tests.tickets.mails import SETTINGS, ingest, mail


def get(session, ticket_id) -> Ticket:
    ticket = session.scalars(
        select(Ticket).where(Ticket.id == ticket_id).execution_options(populate_existing=True)
    ).one()
    session.commit()
    return ticket


def kinds_and_texts(session, ticket_id):
    rows = session.execute(
        select(Message.kind, Message.body_text)
        .where(Message.ticket_id == ticket_id)
        .order_by(Message.id)
    ).all()
    session.commit()
    return [(kind, text) for kind, text in rows]


def duplicate_ids(session, ticket_id):
    found = [
        (d.ticket.id, d.source_id, d.target_id) for d in merging.find_duplicates(session, ticket_id)
    ]
    session.commit()
    return found


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Order 1001 missing", "Re: order 1001 missing"),
        ("Order 1001 missing", "Fwd: RE: Order 1001 missing [#12]"),
        ("배송 문의", "회신: 배송 문의"),
        ("Refund for order 1001", "Refund for order 1002"),
    ],
)
def test_similar_subjects_of_the_same_customer_are_likely_duplicates(session, first, second):
    older = make_ticket(session, subject=first)
    newer = make_ticket(session, subject=second)
    assert duplicate_ids(session, newer.id) == [(older.id, newer.id, older.id)]


def test_similar_first_message_text_is_a_likely_duplicate(session):
    older = make_ticket(session, subject="Help")
    newer = make_ticket(session, subject="Question about delivery")
    make_message(session, older, body_text="My parcel 55123 was supposed to arrive on Monday.")
    make_message(session, newer, body_text="My parcel 55123 was supposed to arrive on monday!")
    assert duplicate_ids(session, older.id) == [(newer.id, newer.id, older.id)]


def test_the_same_mail_received_twice_under_new_message_ids_is_found(session):
    first = ingest(session, mail("Please cancel order 77.", subject="Cancel", message_id="<a@x>"))
    second = ingest(
        session, mail("Please cancel order 77.", subject="Kündigung", message_id="<b@x>")
    )
    assert first.ticket_id != second.ticket_id
    [candidate] = merging.find_duplicates(session, second.ticket_id)
    assert candidate.ticket.id == first.ticket_id
    assert [str(r) for r in candidate.reasons] == ["the same message text was received twice"]
    session.commit()


@pytest.mark.parametrize("case", ["other customer", "closed", "old", "different"])
def test_unrelated_tickets_are_not_duplicates(session, case):
    ticket = make_ticket(session, subject="Order 1001 missing")
    if case == "other customer":
        make_ticket(session, subject="Order 1001 missing", customer_email="lee@example.com")
    elif case == "closed":
        make_ticket(session, subject="Order 1001 missing", status=TicketStatus.closed)
    elif case == "old":
        make_ticket(session, subject="Order 1001 missing", created_at=utcnow() - timedelta(days=20))
    else:
        make_ticket(session, subject="Invoice address change")
    assert duplicate_ids(session, ticket.id) == []


def test_merge_moves_messages_and_closes_the_source_with_a_link(session, agent):
    target = make_ticket(session, subject="Order missing")
    source = make_ticket(session, subject="Re: Order missing")
    make_message(session, target, body_text="first mail")
    make_message(session, source, body_text="second mail")
    merging.merge_tickets(session, source.id, target.id, agent.id)
    session.commit()

    survivor, closed = get(session, target.id), get(session, source.id)
    assert closed.merged_into_id == target.id
    assert closed.status == TicketStatus.closed
    assert closed.closed_at is not None
    assert kinds_and_texts(session, source.id) == [
        (MessageKind.event, f"Merged into ticket #{target.id} by Alex Agent.")
    ]
    assert kinds_and_texts(session, target.id) == [
        (MessageKind.customer, "first mail"),
        (MessageKind.customer, "second mail"),
        (MessageKind.event, f"Ticket #{source.id} merged into this one by Alex Agent."),
    ]
    assert survivor.version == 2
    assert survivor.merged_into_id is None


def test_merge_keeps_tags_and_adds_the_other_customer_as_participant(session, agent):
    target = make_ticket(session, subject="A")
    source = make_ticket(session, subject="B", customer_email="colleague@example.com")
    service.set_tags(session, source.id, "vip, refund", actor_id=agent.id)
    session.commit()
    merging.merge_tickets(session, source.id, target.id, agent.id)
    session.commit()
    page = display.ticket_page(session, target.id)
    assert [t.name for t in page.ticket.tags] == ["refund", "vip"]
    assert [p.email for p in page.participants] == ["colleague@example.com"]
    session.commit()


@pytest.mark.parametrize("case", ["itself", "source merged", "target merged", "unknown"])
def test_refused_merges_change_nothing(session, agent, case):
    a, b, c = make_ticket(session), make_ticket(session), make_ticket(session)
    make_message(session, a, body_text="stays")
    if case == "itself":
        source, target, error = a.id, a.id, service.MergeRefused
    elif case == "source merged":
        merging.merge_tickets(session, a.id, c.id, agent.id)
        session.commit()
        source, target, error = a.id, b.id, service.MergeRefused
    elif case == "target merged":
        merging.merge_tickets(session, b.id, c.id, agent.id)
        session.commit()
        source, target, error = a.id, b.id, service.MergeRefused
    else:
        source, target, error = a.id, 999999, service.TicketNotFound
    before = kinds_and_texts(session, source)
    with pytest.raises(error):
        merging.merge_tickets(session, source, target, agent.id)
    session.rollback()
    assert kinds_and_texts(session, source) == before


def test_later_replies_to_either_conversation_land_in_the_survivor(session, agent):
    mailbox = make_mailbox(session)
    target = ingest(session, mail("one", subject="Order", message_id="<t1@x>"), mailbox=mailbox)
    source = ingest(session, mail("two", subject="Other", message_id="<s1@x>"), mailbox=mailbox)
    merging.merge_tickets(session, source.ticket_id, target.ticket_id, agent.id)
    session.commit()

    to_source = ingest(
        session, mail("about two", message_id="<s2@x>", headers={"In-Reply-To": "<s1@x>"})
    )
    signed = make_message_id(source.ticket_id, SETTINGS.secret_key, SETTINGS.domain)
    to_signed = ingest(
        session, mail("signed", message_id="<s3@x>", headers={"In-Reply-To": f"<{signed}>"})
    )
    assert to_source.ticket_id == target.ticket_id
    assert to_signed.ticket_id == target.ticket_id
    assert not to_source.created_ticket and not to_signed.created_ticket


def test_merging_a_likely_duplicate_goes_through_the_confirmation(agent_client, session):
    older = make_ticket(session, subject="Order 1001 missing")
    newer = make_ticket(session, subject="Re: Order 1001 missing")
    html = agent_client.get(f"/tickets/{newer.id}").get_data(as_text=True)
    assert f'href="/tickets/{newer.id}/merge?into={older.id}"' in html
    assert f"Merge this ticket into #{older.id}" in html
    confirm = agent_client.get(f"/tickets/{newer.id}/merge?into={older.id}")
    assert f'action="/tickets/{newer.id}/merge"' in confirm.get_data(as_text=True)
    response = post_form(agent_client, f"/tickets/{newer.id}/merge", {"target_id": str(older.id)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/tickets/{older.id}")
    assert get(session, newer.id).merged_into_id == older.id
    merged_page = agent_client.get(f"/tickets/{newer.id}").get_data(as_text=True)
    assert f'href="/tickets/{older.id}">#{older.id}' in merged_page
    assert 'id="reply"' not in merged_page


@pytest.mark.parametrize(
    ("target", "status", "message"),
    [
        ("", 400, "Enter the number of the ticket"),
        ("abc", 400, "must be a number"),
        ("999999", 400, "does not exist"),
        ("self", 400, "cannot be merged into itself"),
    ],
)
def test_bad_merge_form_is_refused(agent_client, session, target, status, message):
    ticket = make_ticket(session)
    target = str(ticket.id) if target == "self" else target
    response = post_form(agent_client, f"/tickets/{ticket.id}/merge", {"target_id": target})
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert get(session, ticket.id).merged_into_id is None


def test_merging_an_unknown_ticket_is_404(agent_client, session):
    target = make_ticket(session)
    response = post_form(agent_client, "/tickets/999999/merge", {"target_id": str(target.id)})
    assert response.status_code == 404
