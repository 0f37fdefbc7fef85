"""The notification pages: the bell's count, the list, mark read, the settings on the
preferences page and the agent list for @mentions; role checks, CSRF and bad input."""

from __future__ import annotations

import pytest

from helpdesk.notifications import service
from helpdesk.notifications.models import NotificationKind
from helpdesk.tickets import notes
from tests.factories import make_mailbox, make_ticket, make_user
from tests.helpers import login, post_form


@pytest.fixture
def mentioned_twice(session, agent, admin):
    tickets = [make_ticket(session, subject=f"Question {n}") for n in (1, 2)]
    for ticket in tickets:
        notes.add_note(session, ticket.id, author_id=admin.id, body="@Alex Agent please look")
    session.commit()
    return tickets


def test_the_bell_shows_the_unread_count_on_every_page(agent_client, mentioned_twice):
    html = agent_client.get("/tickets/mentions").get_data(as_text=True)
    assert "data-bell-count>2</span>" in html


def test_unread_json_counts_the_users_unread_notifications(agent_client, mentioned_twice):
    assert agent_client.get("/notifications/unread.json").get_json() == {"unread": 2}


def test_marketers_have_no_bell_and_no_notification_pages(marketer_client):
    assert "data-bell-count" not in marketer_client.get("/preferences").get_data(as_text=True)
    for url in ("/notifications", "/notifications/unread.json", "/notifications/agents.json"):
        assert marketer_client.get(url).status_code == 403
    assert post_form(marketer_client, "/notifications/read").status_code == 403


def test_logged_out_users_are_sent_to_login(client):
    response = client.get("/notifications/unread.json")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_list_shows_the_notifications_and_who_caused_them(agent_client, mentioned_twice):
    html = agent_client.get("/notifications").get_data(as_text=True)
    assert "Question 1" in html and "Question 2" in html
    assert "Mentioned in a note" in html
    assert "by Ada Admin" in html


def test_opening_a_notification_marks_it_read_and_goes_to_its_ticket(
    agent_client, session, agent, mentioned_twice
):
    entry = service.recent(session, agent.id)[0]
    session.commit()
    response = post_form(agent_client, f"/notifications/{entry.notification.id}/read")
    assert response.headers["Location"].endswith(f"/tickets/{entry.notification.ticket_id}")
    assert service.unread_count(session, agent.id) == 1


def test_someone_elses_notification_cannot_be_opened(
    client, session, agent, admin, mentioned_twice
):
    entry = service.recent(session, agent.id)[0]
    session.commit()
    login(client, admin.email)
    assert post_form(client, f"/notifications/{entry.notification.id}/read").status_code == 404
    assert service.unread_count(session, agent.id) == 2


def test_mark_all_read(agent_client, session, agent, mentioned_twice):
    response = post_form(agent_client, "/notifications/read", follow_redirects=True)
    assert "2 notification(s) marked as read." in response.get_data(as_text=True)
    assert service.unread_count(session, agent.id) == 0


def test_mark_all_read_without_csrf_token_is_refused(agent_client, session, agent, mentioned_twice):
    assert agent_client.post("/notifications/read").status_code == 400
    assert service.unread_count(session, agent.id) == 2


def test_opening_the_ticket_reads_its_notifications(agent_client, session, agent, mentioned_twice):
    agent_client.get(f"/tickets/{mentioned_twice[0].id}")
    assert service.unread_count(session, agent.id) == 1


def test_settings_are_saved_from_the_preferences_page(agent_client, session, agent):
    mailbox = make_mailbox(session)
    html = agent_client.get("/preferences").get_data(as_text=True)
    assert 'name="email_mentioned"' in html and "Support" in html
    response = post_form(
        agent_client,
        "/notifications/settings",
        {"in_app_assigned": "on", "email_mentioned": "on", "watch": str(mailbox.id)},
    )
    assert response.status_code == 302
    switches = service.switches_of(session, agent.id)
    assert switches[NotificationKind.assigned] == service.Switches(in_app=True, email=False)
    assert switches[NotificationKind.mentioned] == service.Switches(in_app=False, email=True)
    assert switches[NotificationKind.overdue] == service.Switches(in_app=False, email=False)
    assert service.watched_mailbox_ids(session, agent.id) == {mailbox.id}


@pytest.mark.parametrize("watch", ["999999", "not-a-number", "-1"])
def test_settings_with_an_unknown_mailbox_change_nothing(agent_client, session, agent, watch):
    response = post_form(
        agent_client, "/notifications/settings", {"email_assigned": "on", "watch": watch}
    )
    assert response.status_code == 400
    assert "That mailbox does not exist" in response.get_data(as_text=True)
    assert service.switches_of(session, agent.id)[NotificationKind.assigned] == (
        service.DEFAULT_SWITCHES
    )
    assert service.watched_mailbox_ids(session, agent.id) == set()


def test_settings_without_csrf_token_are_refused(agent_client, session, agent):
    response = agent_client.post("/notifications/settings", data={"email_assigned": "on"})
    assert response.status_code == 400
    assert service.switches_of(session, agent.id)[NotificationKind.assigned] == (
        service.DEFAULT_SWITCHES
    )


def test_agents_json_lists_active_agents_matching_the_query(agent_client, session, admin):
    make_user(session, email="minsu@example.com", name="김 민수")
    make_user(session, email="gone@example.com", name="Kim Gone").is_active = False
    make_user(session, email="mk@example.com", name="Kim Marketer", role="marketer")
    session.commit()
    found = agent_client.get("/notifications/agents.json?q=민").get_json()["agents"]
    assert [(a["name"], a["handle"]) for a in found] == [("김 민수", "김민수")]
    everyone = agent_client.get("/notifications/agents.json?q=").get_json()["agents"]
    assert [a["name"] for a in everyone] == ["Ada Admin", "Alex Agent", "김 민수"]


def test_agents_json_takes_an_overlong_query_without_error(agent_client):
    response = agent_client.get("/notifications/agents.json?q=" + "x" * 5000)
    assert response.status_code == 200
    assert response.get_json() == {"agents": []}


def test_the_settings_and_the_list_read_in_korean(client, session):
    make_user(session, email="ko@example.com", name="김 민수", language="ko")
    login(client, "ko@example.com")
    assert "받을 알림 고르기" in client.get("/notifications").get_data(as_text=True)
    html = client.get("/preferences").get_data(as_text=True)
    assert "지켜보는 메일함" in html and "메모에서 언급됨" in html
