"""The development SMTP sink: accepts every message and keeps it in a Maildir.

With no SMTP_URL configured, outgoing mail goes here instead of to real people; the
Outbox page (mail/views.py) reads the Maildir back with the functions at the bottom.
"""

from __future__ import annotations

import mailbox
import os
import re
import signal
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path

from aiosmtpd.controller import Controller

from helpdesk.config import Config
from helpdesk.mail.parse import sanitize_html

_MAILDIR_KEY = re.compile(r"^(\d+)\.M(\d+)P")


class MaildirHandler:
    """aiosmtpd handler that stores each message, with its envelope, in a Maildir."""

    def __init__(self, maildir_path: Path) -> None:
        maildir_path.parent.mkdir(parents=True, exist_ok=True)
        self.maildir = mailbox.Maildir(maildir_path, factory=None, create=True)

    async def handle_DATA(self, server, session, envelope) -> str:
        # Envelope recipients are not in the headers when a message is sent with Bcc,
        # so they go on top of the stored message the way a delivery agent records them.
        envelope_lines = (
            f"Return-Path: <{envelope.mail_from}>\r\n"
            f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode("utf-8", "surrogateescape")
        self.maildir.add(envelope_lines + (envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


def make_controller(config: Config, port: int | None = None) -> Controller:
    return Controller(
        MaildirHandler(config.maildir_path),
        hostname=config.sink_host,
        port=config.sink_port if port is None else port,
        enable_SMTPUTF8=True,
    )


def run_sink(config: Config) -> None:
    """Serve until SIGINT or SIGTERM; `helpdesk sink` and `helpdesk run` use this."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    controller = make_controller(config)
    controller.start()
    print(
        f"SMTP sink listening on {config.sink_host}:{config.sink_port}, "
        f"keeping mail in {config.maildir_path}",
        flush=True,
    )
    try:
        stop.wait()
    finally:
        controller.stop()


@dataclass(frozen=True)
class OutboxEntry:
    key: str
    received_at: datetime
    sender: str
    recipients: str
    subject: str
    date: datetime | None


@dataclass(frozen=True)
class OutboxAttachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class OutboxMessage:
    entry: OutboxEntry
    headers: list[tuple[str, str]]
    text: str | None
    html: str | None
    attachments: list[OutboxAttachment]
    raw: bytes


def count_messages(maildir_path: Path) -> int:
    return len(_keys_newest_first(maildir_path))


def list_messages(maildir_path: Path, offset: int = 0, limit: int = 50) -> list[OutboxEntry]:
    """Newest first; only the requested page's headers are read from disk."""
    keys = _keys_newest_first(maildir_path)[offset : offset + limit]
    if not keys:
        return []
    maildir = mailbox.Maildir(maildir_path, factory=None, create=False)
    entries = []
    for key, received_at in keys:
        try:
            raw = maildir.get_bytes(key)
        except (KeyError, FileNotFoundError):
            continue
        headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
        entries.append(_entry(key, received_at, headers))
    return entries


def read_message(maildir_path: Path, key: str) -> OutboxMessage | None:
    received_at = dict(_keys_newest_first(maildir_path)).get(key)
    if received_at is None:
        return None
    raw = mailbox.Maildir(maildir_path, factory=None, create=False).get_bytes(key)
    message = BytesParser(policy=policy.default).parsebytes(raw)
    html = _body_text(message, "html")
    return OutboxMessage(
        entry=_entry(key, received_at, message),
        headers=[(name, _header_text(value)) for name, value in message.items()],
        text=_body_text(message, "plain"),
        # Cleaned as agents see customer mail: remote images wait until asked for.
        html=sanitize_html(html) if html is not None else None,
        attachments=[
            OutboxAttachment(
                filename=part.get_filename() or "",
                content_type=part.get_content_type(),
                size=len(part.get_payload(decode=True) or b""),
            )
            for part in message.iter_attachments()
        ],
        raw=raw,
    )


def _keys_newest_first(maildir_path: Path) -> list[tuple[str, datetime]]:
    """Keys with delivery times from the file listing, without opening any message."""
    found = []
    for subdir in ("new", "cur"):
        try:
            entries = list(os.scandir(maildir_path / subdir))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                mtime = entry.stat().st_mtime
            except FileNotFoundError:
                continue
            key = entry.name.split(":")[0]
            found.append((mtime, _delivery_order(key), key))
    found.sort(reverse=True)
    return [(key, datetime.fromtimestamp(mtime, UTC)) for mtime, _order, key in found]


def _delivery_order(key: str) -> tuple[int, int]:
    """Seconds and microseconds from a key made by mailbox.Maildir ("1700000000.M123P..."),
    which order messages delivered within one tick of a coarse file-system clock."""
    match = _MAILDIR_KEY.match(key)
    return (int(match[1]), int(match[2])) if match else (0, 0)


def _entry(key: str, received_at: datetime, headers) -> OutboxEntry:
    return OutboxEntry(
        key=key,
        received_at=received_at,
        sender=_header_text(headers["From"]),
        recipients=_header_text(headers["To"]) or _header_text(headers["X-Envelope-To"]),
        subject=_header_text(headers["Subject"]),
        date=_header_date(headers),
    )


def _header_text(value) -> str:
    return "" if value is None else str(value)


def _header_date(headers) -> datetime | None:
    try:
        value = headers["Date"]
        parsed = getattr(value, "datetime", None)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _body_text(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return None
    try:
        return part.get_content()
    except (LookupError, UnicodeDecodeError):
        # An unknown or wrong charset label must not hide the message from the page.
        return (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
