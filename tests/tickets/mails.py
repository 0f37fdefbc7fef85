"""Short test mails written inline, and the settings ingest runs with in the tests."""

from __future__ import annotations

from helpdesk.inbound.incoming import IngestSettings
from helpdesk.inbound.ingest import ingest_message
from helpdesk.mail.models import RawSource

SETTINGS = IngestSettings(secret_key="test-secret-key", domain="helpdesk.test")
SUPPORT = "support@helpdesk.test"


def mail(
    body: str = "Hello, my order has not arrived.",
    *,
    subject: str = "Order 1001 missing",
    sender: str = "Kim Minji <minji@example.com>",
    to: str = SUPPORT,
    message_id: str | None = "<m1@example.com>",
    date: str = "Mon, 23 Nov 2026 10:00:00 +0000",
    headers: dict[str, str] | None = None,
) -> bytes:
    """A plain-text UTF-8 mail; `headers` adds or replaces header lines."""
    lines = {
        "From": sender,
        "To": to,
        "Subject": subject,
        "Date": date,
        "Message-ID": message_id,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Transfer-Encoding": "8bit",
    } | (headers or {})
    head = "".join(f"{name}: {value}\r\n" for name, value in lines.items() if value is not None)
    return (head + "\r\n" + body.replace("\n", "\r\n") + "\r\n").encode()


def ingest(session, raw: bytes, *, mailbox=None, settings=SETTINGS, **kwargs):
    return ingest_message(
        session,
        raw,
        source=kwargs.pop("source", RawSource.imap),
        settings=settings,
        mailbox_id=mailbox.id if mailbox is not None else None,
        **kwargs,
    )
