"""Mail the IMAP poller takes in queues the watching agents' notification mail at once,
as the gateway does (tests/notifications/test_mail_after_ingest.py)."""

from __future__ import annotations

from rq import Queue

from helpdesk.inbound.poll import poll_mailbox
from helpdesk.notifications import service
from helpdesk.notifications.models import NotificationKind
from helpdesk.queue import MAIL_QUEUE
from tests.tickets.mails import mail


def test_polled_mail_queues_the_watchers_mail(
    session, config, agent, imap_mailbox, imap_account, redis_conn
):
    service.save_watches(session, agent.id, [imap_mailbox.id])
    service.save_switches(
        session,
        agent.id,
        {NotificationKind.new_ticket: service.Switches(in_app=True, email=True)},
    )
    session.commit()
    imap_account.append(mail())
    assert poll_mailbox(imap_mailbox.id, config).ingested == 1
    names = [job.func_name for job in Queue(MAIL_QUEUE, connection=redis_conn).jobs]
    assert names == ["helpdesk.notifications.jobs.send_pending_notification_mail"]
