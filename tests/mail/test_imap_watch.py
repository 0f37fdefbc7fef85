"""The long-running poller: new mail arrives through IMAP IDLE without waiting an interval."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from helpdesk.inbound.poll import watch_mailboxes
from helpdesk.mail.models import Mailbox
from helpdesk.tickets.models import Ticket
from tests.tickets.mails import mail


def wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_watch_takes_in_new_mail_through_idle_before_the_interval(
    session, config, imap_mailbox, imap_account
):
    imap_mailbox.poll_interval_seconds = 3600
    session.commit()
    mailbox_id = imap_mailbox.id

    def polled_once():
        polled = session.scalar(select(Mailbox.last_poll_at).where(Mailbox.id == mailbox_id))
        session.commit()
        return polled is not None

    def tickets():
        number = session.scalar(select(func.count()).select_from(Ticket))
        session.commit()
        return number

    stop = threading.Event()
    watcher = threading.Thread(target=watch_mailboxes, args=(config, stop), daemon=True)
    watcher.start()
    try:
        assert wait_for(polled_once)
        time.sleep(0.5)  # let the watcher enter IDLE
        imap_account.append(mail(subject="Arrived while idle"))

        assert wait_for(lambda: tickets() == 1, timeout=10)
    finally:
        stop.set()
        watcher.join(timeout=15)
    assert not watcher.is_alive()
