"""The IMAP side of taking in a mailbox: connecting, listing the UIDs not taken in yet,
cutting them into batches by size, flagging or moving what was taken, and waiting for
new mail (IDLE). Mail is never deleted or expunged.

The poll that fetches mail with these and hands it to ingest is helpdesk.inbound.poll.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.config import ConfigError, read_secret
from helpdesk.db import database
from helpdesk.mail.models import Mailbox, TLSMode

log = logging.getLogger(__name__)

SEEN = b"\\Seen"
CONNECT_TIMEOUT = 60
# RFC 2177 lets servers drop an IDLE after 30 minutes; re-issue it well before that.
MAX_IDLE_SECONDS = 25 * 60

# Everything that means "the server or the network failed", as opposed to a bug here.
POLL_ERRORS = (IMAPClientError, OSError, ssl.SSLError, socket.timeout, ConfigError)


def active_imap_mailbox_ids(session: Session) -> list[int]:
    mailboxes = session.scalars(select(Mailbox).where(Mailbox.is_active.is_(True)))
    return [mailbox.id for mailbox in mailboxes if mailbox.has_imap]


def connect(mailbox: Mailbox, timeout: float = CONNECT_TIMEOUT) -> IMAPClient:
    """An authenticated connection; the password is read here and kept nowhere else."""
    context = ssl.create_default_context()
    use_ssl = mailbox.imap_tls is TLSMode.ssl
    client = IMAPClient(
        mailbox.imap_host,
        port=mailbox.imap_port,
        ssl=use_ssl,
        ssl_context=context if use_ssl else None,
        timeout=timeout,
    )
    try:
        if mailbox.imap_tls is TLSMode.starttls:
            client.starttls(context)
        client.login(mailbox.imap_user, read_secret(mailbox.password_ref))
    except BaseException:
        close(client)
        raise
    return client


def close(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # the connection is being thrown away; a failed goodbye changes nothing
        with contextlib.suppress(Exception):
            client.shutdown()


def describe(exc: BaseException, mailbox: Mailbox) -> str:
    message = f"{type(exc).__name__}: {exc}"
    try:
        secret = read_secret(mailbox.password_ref)
    except ConfigError:
        secret = ""
    # Some servers echo the failed command; the error is shown on an admin page and logged.
    return message.replace(secret, "***") if secret else message


def new_uids(session: Session, client: IMAPClient, mailbox: Mailbox) -> list[int]:
    """Select the mailbox's folder and list the UIDs not taken in yet, in order."""
    selected = client.select_folder(mailbox.imap_folder)
    uidvalidity = int(selected[b"UIDVALIDITY"])
    if uidvalidity != mailbox.uidvalidity:
        # UIDs from the old UIDVALIDITY mean nothing now (RFC 3501 2.3.1.1): rescan
        # from the start and let the Message-ID dedupe skip what we already have.
        if mailbox.uidvalidity is not None:
            log.warning("mailbox %s: UIDVALIDITY changed, rescanning", mailbox.id)
        mailbox.uidvalidity = uidvalidity
        mailbox.last_uid = 0
        session.commit()
    # "n:*" always includes the highest UID, even when it is below n (RFC 3501 6.4.8).
    found = client.search(["UID", f"{mailbox.last_uid + 1}:*"])
    return sorted(uid for uid in found if uid > mailbox.last_uid)


def batches(
    client: IMAPClient, uids: list[int], most_messages: int, most_bytes: int
) -> Iterator[list[int]]:
    """The UIDs in fetch order, cut into batches of at most `most_messages` messages and
    `most_bytes` bytes (a larger message makes a batch of its own), so that a batch of
    big attachments does not have to fit in memory at once.

    The sizes are fetched a window of UIDs at a time as the batches are taken, so that
    the first batch is fetched and ingested without waiting for the sizes of all the
    mail waiting (thousands after an outage). Each step sends a command on `client`.
    """
    batch: list[int] = []
    batch_bytes = 0
    for start in range(0, len(uids), most_messages):
        window = uids[start : start + most_messages]
        sizes = client.fetch(window, ["RFC822.SIZE"])
        for uid in window:
            size = sizes.get(uid, {}).get(b"RFC822.SIZE", 0)
            if batch and (len(batch) >= most_messages or batch_bytes + size > most_bytes):
                yield batch
                batch, batch_bytes = [], 0
            batch.append(uid)
            batch_bytes += size
    if batch:
        yield batch


def mark_taken(client: IMAPClient, uids: list[int], archive: str | None) -> None:
    client.add_flags(uids, [SEEN], silent=True)
    if archive is None:
        return
    if client.has_capability("MOVE"):
        client.move(uids, archive)
    else:
        # Without MOVE, moving means EXPUNGE, and we never delete: the copy is the archive.
        client.copy(uids, archive)


def wait_for_mail(mailbox_id: int, stop: threading.Event) -> None:
    with database.session() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        if mailbox is None:
            return
        session.expunge(mailbox)
    interval = max(1, mailbox.poll_interval_seconds)
    client = connect(mailbox)
    try:
        if not client.has_capability("IDLE"):
            close(client)
            client = None
            stop.wait(interval)
            return
        client.select_folder(mailbox.imap_folder, readonly=True)
        client.idle()
        deadline = time.monotonic() + min(interval, MAX_IDLE_SECONDS)
        while not stop.is_set() and time.monotonic() < deadline:
            # Short checks keep the thread responsive to `stop`.
            responses = client.idle_check(timeout=1)
            if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                break
        client.idle_done()
    finally:
        if client is not None:
            close(client)
