"""What the ticket page and its messages say: the status history in words of the viewer's
language, counts in the right plural form, and no stray space before a colon."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from helpdesk.auth.models import User
from helpdesk.tickets import service
from helpdesk.tickets.event_text import event_text
from helpdesk.tickets.models import Priority, TicketStatus
from helpdesk.tickets.replies import latest_message_id
from tests.factories import make_mailbox, make_ticket
from tests.helpers import csrf_token, login, post_form
from tests.tickets.mails import ingest, mail


def _history(html: str) -> list[str]:
    return re.findall(r'<div class="event" id="message-\d+"><span>(.*?)</span>', html)


def _speak_korean(session, user) -> None:
    session.execute(update(User).where(User.id == user.id).values(language="ko"))
    session.commit()


@pytest.fixture
def moved_ticket(session, agent):
    ticket = make_ticket(session, status=TicketStatus.waiting)
    service.set_status(session, ticket.id, "open", actor_id=agent.id)
    service.set_priority(session, ticket.id, "urgent", actor_id=agent.id)
    session.commit()
    return ticket


def test_status_history_shows_status_and_priority_labels(agent_client, moved_ticket):
    html = agent_client.get(f"/tickets/{moved_ticket.id}").get_data(as_text=True)
    assert _history(html) == [
        "Status Waiting on customer → Open by Alex Agent.",
        "Priority Normal → Urgent by Alex Agent.",
    ]


def test_status_history_is_in_korean_for_a_korean_agent(agent_client, session, agent, moved_ticket):
    _speak_korean(session, agent)
    html = agent_client.get(f"/tickets/{moved_ticket.id}").get_data(as_text=True)
    assert _history(html)[0] == "Alex Agent님이 상태를 고객 응답 대기 → 진행 중(으)로 바꿨습니다."
    assert "waiting" not in " ".join(_history(html))


def test_an_event_sentence_of_an_unknown_form_is_shown_as_stored(app):
    with app.test_request_context():
        assert event_text("Something else happened.") == "Something else happened."
        assert event_text("Status finished → open by Kim.") == "Status finished → open by Kim."


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (
            "Reopened by a customer reply (was resolved).",
            "Reopened by a customer reply (was Resolved).",
        ),
        ("Taken by Kim.", "Taken by Kim."),
        ("Assigned to Lee by Kim.", "Assigned to Lee by Kim."),
        ("Merged into ticket #7 by Kim.", "Merged into ticket #7 by Kim."),
        (f"Priority {Priority.low} → {Priority.high} by Kim.", "Priority Low → High by Kim."),
    ],
)
def test_every_kind_of_event_is_read_back(app, stored, shown):
    with app.test_request_context():
        assert event_text(stored) == shown


def _conflict(client, session, agent, admin, count: int) -> str:
    result = ingest(session, mail(subject="Order 1001 missing"), mailbox=make_mailbox(session))
    ticket_id, seen = result.ticket_id, result.message_id
    login(client, admin.email)
    for n in range(count):
        latest = latest_message_id(session, ticket_id)
        session.commit()  # on SQLite, a read left open would hold the app's write lock
        post_form(
            client,
            f"/tickets/{ticket_id}/replies",
            {"body": f"Answer {n}", "cc": "", "status": "waiting", "seen_message_id": str(latest)},
        )
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(client, agent.email)
    response = post_form(
        client,
        f"/tickets/{ticket_id}/replies",
        {"body": "Late", "cc": "", "status": "waiting", "seen_message_id": str(seen)},
    )
    assert response.status_code == 409
    return re.search(r'id="reply-conflict".*?</div>', response.get_data(as_text=True), re.S)[0]


def test_the_conflict_says_one_new_message_in_the_singular(
    client, session, agent, admin, redis_conn
):
    conflict = _conflict(client, session, agent, admin, 1)
    assert "1 new message arrived while you were writing. Read it," in conflict


def test_the_conflict_says_two_new_messages_in_the_plural(
    client, session, agent, admin, redis_conn
):
    conflict = _conflict(client, session, agent, admin, 2)
    assert "2 new messages arrived while you were writing. Read them," in conflict


def test_the_conflict_names_who_replied_with_no_space_before_the_colon(
    client, session, agent, admin, redis_conn
):
    conflict = _conflict(client, session, agent, admin, 1)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", conflict))
    assert f"{admin.name} replied: Answer 0" in text
    assert " :" not in text


def test_the_conflict_is_in_korean_for_a_korean_agent(client, session, agent, admin, redis_conn):
    _speak_korean(session, agent)
    conflict = _conflict(client, session, agent, admin, 2)
    assert "새 메시지 2개가 도착했습니다" in conflict
