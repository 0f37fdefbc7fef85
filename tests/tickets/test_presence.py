"""Presence: heartbeats in Redis say who else has the ticket open and who is typing."""

from __future__ import annotations

import json
import re

import pytest

from helpdesk.tickets import presence
from tests.factories import make_message, make_ticket
from tests.helpers import csrf_token, login


def heartbeat_as(client, ticket_id, typing=False, token=None, body=None):
    if token is None:
        page = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    return client.post(
        f"/tickets/{ticket_id}/presence",
        data=body if body is not None else json.dumps({"typing": typing}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )


def test_heartbeat_returns_the_other_viewers_not_yourself(redis_conn):
    presence.heartbeat(redis_conn, 7, 1, typing=False, now=1000)
    others = presence.heartbeat(redis_conn, 7, 2, typing=True, now=1001)
    assert others == [presence.Viewer(1, False)]
    assert presence.others(redis_conn, 7, 1, now=1002) == [presence.Viewer(2, True)]


def test_viewers_drop_out_within_fifteen_seconds_without_a_heartbeat(redis_conn):
    presence.heartbeat(redis_conn, 7, 1, typing=False, now=1000)
    assert presence.others(redis_conn, 7, 2, now=1011) == [presence.Viewer(1, False)]
    assert presence.others(redis_conn, 7, 2, now=1015) == []


def test_typing_lapses_sooner_than_viewing(redis_conn):
    presence.heartbeat(redis_conn, 7, 1, typing=True, now=1000)
    assert presence.others(redis_conn, 7, 2, now=1010.5) == [presence.Viewer(1, False)]


def test_leaving_removes_the_viewer_at_once(redis_conn):
    presence.heartbeat(redis_conn, 7, 1, typing=True, now=1000)
    presence.leave(redis_conn, 7, 1)
    assert presence.others(redis_conn, 7, 2, now=1001) == []


def test_presence_keys_expire_when_nobody_looks(redis_conn):
    presence.heartbeat(redis_conn, 7, 1, typing=True)
    assert 0 < redis_conn.ttl("helpdesk:presence:7:viewing") <= 60


def test_tickets_do_not_share_viewers(redis_conn):
    presence.heartbeat(redis_conn, 7, 1, typing=False, now=1000)
    assert presence.others(redis_conn, 8, 2, now=1000) == []


def test_endpoint_shows_the_other_agent_by_name(client, session, redis_conn, agent, admin):
    ticket = make_ticket(session)
    presence.heartbeat(redis_conn, ticket.id, admin.id, typing=True)
    login(client, agent.email)
    response = heartbeat_as(client, ticket.id)
    assert response.status_code == 200
    assert response.json["viewers"] == [{"id": admin.id, "name": "Ada Admin", "typing": True}]
    assert response.json["version"] == 1


def test_endpoint_reports_the_newest_message_and_version(agent_client, session, redis_conn):
    ticket = make_ticket(session)
    message = make_message(session, ticket)
    response = heartbeat_as(agent_client, ticket.id)
    assert response.json["latest_message_id"] == message.id
    assert response.json["merged_into_id"] is None


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"typing": "yes"}'])
def test_bad_heartbeat_is_a_json_400(agent_client, session, redis_conn, body):
    ticket = make_ticket(session)
    response = heartbeat_as(agent_client, ticket.id, body=body)
    assert response.status_code == 400
    assert "typing" in response.json["error"]
    assert redis_conn.keys("helpdesk:presence:*") == []


def test_heartbeat_without_the_csrf_header_is_a_json_400(agent_client, session, redis_conn):
    ticket = make_ticket(session)
    response = heartbeat_as(agent_client, ticket.id, token="forged")
    assert response.status_code == 400
    assert "error" in response.json
    assert redis_conn.keys("helpdesk:presence:*") == []


def test_heartbeat_for_an_unknown_ticket_is_a_json_404(agent_client, session, redis_conn):
    ticket = make_ticket(session)
    page = agent_client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    response = heartbeat_as(agent_client, 999999, token=token)
    assert response.status_code == 404
    assert "does not exist" in response.json["error"]


def test_marketer_cannot_send_heartbeats(marketer_client, session, redis_conn):
    ticket = make_ticket(session)
    response = heartbeat_as(marketer_client, ticket.id, token=csrf_token(marketer_client))
    assert response.status_code == 403
    assert redis_conn.keys("helpdesk:presence:*") == []
