"""The open ticket page adds new messages as they arrive, without a reload."""

from __future__ import annotations

import pytest

from tests.factories import make_message, make_ticket


def test_new_messages_after_the_last_shown_are_rendered(agent_client, session):
    ticket = make_ticket(session)
    shown = make_message(session, ticket, body_text="already on the page")
    make_message(session, ticket, body_text="Sorry, one more thing")
    response = agent_client.get(f"/tickets/{ticket.id}/messages?after={shown.id}")
    update = response.get_json()
    assert update["count"] == 1
    assert "Sorry, one more thing" in update["html"]
    assert "already on the page" not in update["html"]
    assert "is-new" in update["html"]
    assert update["latest_message_id"] > shown.id


def test_nothing_new_is_an_empty_update(agent_client, session):
    ticket = make_ticket(session)
    shown = make_message(session, ticket)
    update = agent_client.get(f"/tickets/{ticket.id}/messages?after={shown.id}").get_json()
    assert (update["count"], update["html"].strip()) == (0, "")


@pytest.mark.parametrize("after", ["", "abc", "-1", "99999999999999"])
def test_a_bad_after_is_a_json_400(agent_client, session, after):
    ticket = make_ticket(session)
    response = agent_client.get(f"/tickets/{ticket.id}/messages?after={after}")
    assert response.status_code == 400
    assert "after" in response.get_json()["error"]


def test_messages_of_an_unknown_ticket_are_404(agent_client):
    assert agent_client.get("/tickets/999999/messages?after=0").status_code == 404
