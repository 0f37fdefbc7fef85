"""The merge picker lists likely duplicates first and finds tickets by number, subject or
customer; the confirmation shows both tickets; the survivor's page offers the undo."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from helpdesk.tickets.models import TicketMerge
from tests.factories import make_message, make_ticket
from tests.helpers import post_form
from tests.tickets.test_merge import get

_OPTION = re.compile(r'merge\?into=(\d+)">#')


def listed(html: str) -> list[int]:
    return [int(n) for n in _OPTION.findall(html)]


def test_picker_lists_likely_duplicates_first(agent_client, session):
    ticket = make_ticket(session, subject="Order 1001 missing")
    other = make_ticket(session, subject="Invoice address")
    duplicate = make_ticket(session, subject="Re: Order 1001 missing")
    html = agent_client.get(f"/tickets/{ticket.id}/merge").get_data(as_text=True)
    assert listed(html) == [duplicate.id, other.id]
    assert "likely duplicate" in html


@pytest.mark.parametrize("by", ["number", "hash number", "subject", "customer"])
def test_picker_finds_tickets_by_number_subject_or_customer(agent_client, session, by):
    ticket = make_ticket(session, subject="Question")
    wanted = make_ticket(session, subject="Parcel 55 damaged", customer_email="lee@example.com")
    make_ticket(session, subject="Something else", customer_email="kim@example.com")
    query = {
        "number": str(wanted.id),
        "hash number": f"#{wanted.id}",
        "subject": "parcel DAMAGED",
        "customer": "lee@",
    }[by]
    html = agent_client.get(f"/tickets/{ticket.id}/merge", query_string={"q": query})
    assert listed(html.get_data(as_text=True)) == [wanted.id]


def test_picker_never_offers_the_ticket_itself_or_a_merged_one(agent_client, session, agent):
    from helpdesk.tickets import merging

    ticket = make_ticket(session, subject="Order")
    gone = make_ticket(session, subject="Order again")
    survivor = make_ticket(session, subject="Order third")
    merging.merge_tickets(session, gone.id, survivor.id, agent.id)
    session.commit()
    html = agent_client.get(f"/tickets/{ticket.id}/merge", query_string={"q": "order"})
    assert listed(html.get_data(as_text=True)) == [survivor.id]


def test_picker_options_as_json_for_typing(agent_client, session):
    ticket = make_ticket(session, subject="Question")
    wanted = make_ticket(session, subject="배송 문의")
    response = agent_client.get(f"/tickets/{ticket.id}/merge/options", query_string={"q": "배송"})
    [option] = response.get_json()["options"]
    assert option["id"] == wanted.id
    assert option["url"] == f"/tickets/{ticket.id}/merge?into={wanted.id}"


@pytest.mark.parametrize("query", ["%", "_", "x" * 5000, "\\", "#99999999999999999999"])
def test_odd_picker_input_finds_nothing_and_fails_nothing(agent_client, session, query):
    ticket = make_ticket(session, subject="Question")
    make_ticket(session, subject="Other")
    response = agent_client.get(f"/tickets/{ticket.id}/merge/options", query_string={"q": query})
    assert response.status_code == 200
    assert response.get_json()["options"] == []


def test_confirmation_shows_both_tickets(agent_client, session):
    source = make_ticket(session, subject="Broken zipper")
    target = make_ticket(session, subject="Jacket return", customer_email="lee@example.com")
    make_message(session, target, body_text="The jacket does not fit.")
    html = agent_client.get(f"/tickets/{source.id}/merge?into={target.id}").get_data(as_text=True)
    assert "Broken zipper" in html and "Jacket return" in html
    assert "lee@example.com" in html and "The jacket does not fit." in html
    assert f"Merge #{source.id} into #{target.id}" in html


@pytest.mark.parametrize(
    ("into", "message"),
    [("abc", "must be a number"), ("999999", "does not exist"), ("self", "into itself")],
)
def test_confirmation_with_a_bad_choice_says_why(agent_client, session, into, message):
    ticket = make_ticket(session)
    into = str(ticket.id) if into == "self" else into
    response = agent_client.get(f"/tickets/{ticket.id}/merge", query_string={"into": into})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert 'id="merge-submit"' not in response.get_data(as_text=True)


def test_picker_of_an_unknown_ticket_is_404(agent_client):
    assert agent_client.get("/tickets/999999/merge").status_code == 404
    assert agent_client.get("/tickets/999999/merge/options").status_code == 404


def merge(agent_client, session):
    source = make_ticket(session, subject="Second request")
    target = make_ticket(session, subject="First request")
    post_form(agent_client, f"/tickets/{source.id}/merge", {"target_id": str(target.id)})
    record = session.scalars(select(TicketMerge).where(TicketMerge.source_id == source.id)).one()
    session.commit()
    return source, target, record


def test_the_survivor_offers_to_undo_and_undo_splits_the_tickets(agent_client, session):
    source, target, record = merge(agent_client, session)
    html = agent_client.get(f"/tickets/{target.id}").get_data(as_text=True)
    assert f'action="/tickets/merges/{record.id}/undo"' in html
    response = post_form(agent_client, f"/tickets/merges/{record.id}/undo")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/tickets/{source.id}")
    assert get(session, source.id).merged_into_id is None
    page = agent_client.get(f"/tickets/{source.id}").get_data(as_text=True)
    assert "is on its own again" in page


def test_undo_twice_is_refused_with_a_message(agent_client, session):
    source, target, record = merge(agent_client, session)
    post_form(agent_client, f"/tickets/merges/{record.id}/undo")
    response = post_form(agent_client, f"/tickets/merges/{record.id}/undo", follow_redirects=True)
    assert "already undone" in response.get_data(as_text=True)
    assert get(session, source.id).merged_into_id is None


def test_undo_without_csrf_token_changes_nothing(agent_client, session):
    source, target, record = merge(agent_client, session)
    response = agent_client.post(f"/tickets/merges/{record.id}/undo")
    assert response.status_code == 400
    assert get(session, source.id).merged_into_id == target.id


def test_undo_of_an_unknown_merge_is_404(agent_client):
    assert post_form(agent_client, "/tickets/merges/999999/undo").status_code == 404
