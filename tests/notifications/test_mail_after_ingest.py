"""Notification mail that ingest causes is queued as soon as the ingest commits, so it
reaches the agent within seconds instead of at the worker's next minute check; still
marked automatic and sent once. The minute check stays as the safety net."""

from __future__ import annotations

import signal
import smtplib

import pytest
from rq import Queue, SimpleWorker, Worker

from helpdesk.db import database
from helpdesk.inbound.gateway import make_gateway
from helpdesk.inbound.ingest import queue_after_ingest
from helpdesk.notifications import service
from helpdesk.notifications.jobs import MAIL_QUEUED_KEY
from helpdesk.notifications.models import NotificationKind
from helpdesk.queue import MAIL_QUEUE
from helpdesk.tickets.jobs import OVERDUE_CHECK_KEY, check_overdue_and_mail
from helpdesk.tickets.models import Ticket
from tests.conftest import free_port
from tests.factories import make_mailbox
from tests.helpers import post_form
from tests.processes import start_worker, wait_until
from tests.tickets.mails import ingest, mail

SUPPORT = "support@helpdesk.test"


def mail_me_of(session, agent, kind: NotificationKind) -> None:
    service.save_switches(session, agent.id, {kind: service.Switches(in_app=True, email=True)})
    session.commit()


@pytest.fixture
def watched(session, agent):
    mailbox = make_mailbox(session, address=SUPPORT)
    service.save_watches(session, agent.id, [mailbox.id])
    mail_me_of(session, agent, NotificationKind.new_ticket)
    return mailbox


def send_through_gateway(config, raw: bytes) -> None:
    gateway = make_gateway(config, port=free_port())
    gateway.start()
    try:
        with smtplib.SMTP(gateway.hostname, gateway.port, timeout=30) as client:
            client.sendmail("minji@example.com", [SUPPORT], raw)
    finally:
        gateway.stop()


def mail_queue(redis_conn) -> Queue:
    return Queue(MAIL_QUEUE, connection=redis_conn)


def test_a_new_ticket_reaches_the_watching_agent_by_mail_within_seconds(
    session, config, agent, watched, redis_conn, worker_env, smtp_handler, tmp_path
):
    # The minute check has just run: only the job queued by ingest can send the mail.
    redis_conn.set(OVERDUE_CHECK_KEY, "1", ex=120)
    log = tmp_path / "worker.log"
    worker = start_worker(log=log)
    try:
        # "Within seconds" counts from the mail's arrival, not from the worker's start-up.
        wait_until(lambda: Worker.count(connection=redis_conn) > 0, timeout=60)
        send_through_gateway(config, mail(subject="Where is my parcel?"))
        wait_until(
            lambda: agent.email in smtp_handler.recipients(),
            timeout=10,
            explain=lambda: log.read_text(errors="replace")[-3000:],
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    [notice] = [r.message for r in smtp_handler.received if r.rcpt_tos == [agent.email]]
    assert notice["Auto-Submitted"] == "auto-generated"
    assert "Where is my parcel?" in notice.get_content()


def test_the_gateway_queues_one_job_for_the_notification_mail(
    session, config, agent, watched, redis_conn, smtp_handler
):
    send_through_gateway(config, mail())
    jobs = mail_queue(redis_conn).jobs
    assert [job.func_name for job in jobs].count(
        "helpdesk.notifications.jobs.send_pending_notification_mail"
    ) == 1


def test_a_customer_reply_on_my_ticket_queues_the_mail(
    session, config, agent, redis_conn, smtp_handler
):
    mail_me_of(session, agent, NotificationKind.customer_replied)
    mailbox = make_mailbox(session, address=SUPPORT)
    with database.session() as writer:
        first = ingest(writer, mail(message_id="<a1@example.com>"), mailbox=mailbox)
        writer.get(Ticket, first.ticket_id).assignee_id = agent.id
        writer.commit()
        reply = ingest(
            writer,
            mail(
                "Any news?",
                message_id="<a2@example.com>",
                headers={"In-Reply-To": "<a1@example.com>"},
            ),
            mailbox=mailbox,
        )
    assert reply.ticket_id == first.ticket_id
    assert reply.notification_mail
    queue_after_ingest(config, [reply])
    assert redis_conn.exists(MAIL_QUEUED_KEY)
    assert len(mail_queue(redis_conn)) == 1


def test_no_job_when_nobody_wants_the_mail(session, config, agent, redis_conn):
    mailbox = make_mailbox(session, address=SUPPORT)
    service.save_watches(session, agent.id, [mailbox.id])  # in the app only, the default
    session.commit()
    send_through_gateway(config, mail())
    assert len(mail_queue(redis_conn)) == 0


def test_the_minute_check_still_sends_what_a_lost_job_left(
    session, config, agent, watched, redis_conn, worker_env, smtp_handler
):
    send_through_gateway(config, mail())
    mail_queue(redis_conn).empty()  # as if Redis had lost the job
    assert check_overdue_and_mail() == 1
    assert [r.rcpt_tos for r in smtp_handler.received] == [[agent.email]]


def test_a_contact_form_request_queues_the_watchers_mail(
    client, session, agent, watched, redis_conn
):
    response = post_form(
        client,
        "/faq/contact",
        {
            "name": "김민지",
            "email": "minji@example.com",
            "subject": "환불 문의",
            "message": "지난주 주문을 환불받고 싶어요.",
            "website": "",
            "form_token": "form-token-0123456789abcdef",
        },
    )
    assert response.status_code == 200, response.data[:500]
    names = [job.func_name for job in mail_queue(redis_conn).jobs]
    assert "helpdesk.notifications.jobs.send_pending_notification_mail" in names


def test_the_queued_job_and_the_minute_check_mail_it_once(
    session, config, agent, watched, redis_conn, worker_env, smtp_handler
):
    send_through_gateway(config, mail())
    SimpleWorker([mail_queue(redis_conn)], connection=redis_conn).work(burst=True)
    assert check_overdue_and_mail() == 0
    assert smtp_handler.recipients()[agent.email] == 1
