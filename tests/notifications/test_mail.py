"""Notification mail goes out through the one outbound path to a real SMTP server, marked
automatic, at most once, and never becomes a ticket when it comes back."""

from __future__ import annotations

from datetime import timedelta

from rq import Queue
from sqlalchemy import func, select

from helpdesk.db import utcnow
from helpdesk.mail.models import RawStatus
from helpdesk.notifications import service
from helpdesk.notifications.jobs import send_pending_notification_mail
from helpdesk.notifications.models import NotificationKind
from helpdesk.queue import DEFAULT_QUEUE, MAIL_QUEUE
from helpdesk.tickets.jobs import check_overdue_and_mail, queue_overdue_check
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.service import assign_ticket
from tests.factories import make_mailbox, make_ticket
from tests.helpers import login, post_form
from tests.tickets.mails import ingest, mail


def mail_on_assignment(session, agent):
    service.save_switches(
        session, agent.id, {NotificationKind.assigned: service.Switches(in_app=True, email=True)}
    )
    session.commit()


def test_assignment_mail_reaches_the_agent_marked_auto_generated(
    session, agent, admin, worker_env, smtp_handler
):
    mail_on_assignment(session, agent)
    ticket = make_ticket(session, subject="Broken zipper")
    assign_ticket(session, ticket.id, agent.id, actor_id=admin.id, expected_assignee_id=None)
    session.commit()

    assert send_pending_notification_mail() == 1
    [received] = smtp_handler.received
    message = received.message
    assert received.rcpt_tos == [agent.email]
    assert message["Auto-Submitted"] == "auto-generated"
    assert f"#{ticket.id}" in message["Subject"]
    assert "Broken zipper" in message.get_content()
    assert f"https://helpdesk.test/tickets/{ticket.id}" in message.get_content()


def test_a_notification_is_mailed_only_once(session, agent, admin, worker_env, smtp_handler):
    mail_on_assignment(session, agent)
    ticket = make_ticket(session)
    assign_ticket(session, ticket.id, agent.id, actor_id=admin.id, expected_assignee_id=None)
    session.commit()
    send_pending_notification_mail()
    assert send_pending_notification_mail() == 0
    assert len(smtp_handler.received) == 1


def test_no_mail_without_the_email_switch(session, agent, admin, worker_env, smtp_handler):
    ticket = make_ticket(session)
    assign_ticket(session, ticket.id, agent.id, actor_id=admin.id, expected_assignee_id=None)
    session.commit()
    assert send_pending_notification_mail() == 0
    assert smtp_handler.received == []


def test_the_mail_is_in_the_agents_language(session, agent, admin, worker_env, smtp_handler):
    agent.language = "ko"
    mail_on_assignment(session, agent)
    ticket = make_ticket(session)
    assign_ticket(session, ticket.id, agent.id, actor_id=admin.id, expected_assignee_id=None)
    session.commit()
    send_pending_notification_mail()
    assert "배정" in smtp_handler.received[0].message["Subject"]


def test_a_notification_mail_fed_back_to_ingest_opens_no_ticket(
    session, agent, admin, worker_env, smtp_handler
):
    mailbox = make_mailbox(session)
    mail_on_assignment(session, agent)
    ticket = make_ticket(session)
    assign_ticket(session, ticket.id, agent.id, actor_id=admin.id, expected_assignee_id=None)
    session.commit()
    send_pending_notification_mail()
    tickets_before = session.scalar(select(func.count(Ticket.id)))
    session.commit()

    result = ingest(session, smtp_handler.received[0].content, mailbox=mailbox)

    assert result.status == RawStatus.dropped
    assert session.scalar(select(func.count(Ticket.id))) == tickets_before


def test_the_periodic_check_mails_overdue_and_ingest_notifications(
    session, agent, worker_env, smtp_handler
):
    service.save_switches(
        session,
        agent.id,
        {
            NotificationKind.overdue: service.Switches(in_app=True, email=True),
            NotificationKind.new_ticket: service.Switches(in_app=True, email=True),
        },
    )
    mailbox = make_mailbox(session)
    service.save_watches(session, agent.id, [mailbox.id])
    session.commit()
    make_ticket(session, assignee_id=agent.id, response_due_at=utcnow() - timedelta(minutes=1))
    ingest(session, mail("Hello", message_id="<p1@example.com>"), mailbox=mailbox)

    assert check_overdue_and_mail() == 2
    subjects = sorted(r.message["Subject"] for r in smtp_handler.received)
    assert subjects[0].startswith("New ticket") and subjects[1].endswith("is overdue")


def test_the_worker_queues_the_overdue_check_once_a_minute(redis_conn):
    assert queue_overdue_check(redis_conn) is True
    assert queue_overdue_check(redis_conn) is False
    [job] = Queue(DEFAULT_QUEUE, connection=redis_conn).get_jobs()
    assert job.func_name == "helpdesk.tickets.jobs.check_overdue_and_mail"


def test_a_note_queues_notification_mail_only_when_some_is_due(
    client, session, agent, admin, redis_conn
):
    ticket = make_ticket(session)
    login(client, admin.email)
    post_form(client, f"/tickets/{ticket.id}/notes", {"note": "@Alex Agent look"})
    assert Queue(MAIL_QUEUE, connection=redis_conn).count == 0

    mail_on_mention = service.Switches(in_app=True, email=True)
    service.save_switches(session, agent.id, {NotificationKind.mentioned: mail_on_mention})
    session.commit()
    post_form(client, f"/tickets/{ticket.id}/notes", {"note": "@Alex Agent again"})
    [job] = Queue(MAIL_QUEUE, connection=redis_conn).get_jobs()
    assert job.func_name == "helpdesk.notifications.jobs.send_pending_notification_mail"
