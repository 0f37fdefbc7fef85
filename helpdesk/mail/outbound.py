"""The one outbound path: build a message, hand it to a `MailSender`.

Ticket replies, acknowledgements and campaign mail are all built by `build_message` and
sent through an `SMTPSender` (the built-in sink in development, a relay in production).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Protocol
from urllib.parse import unquote, urlsplit

from helpdesk.db import utcnow
from helpdesk.mail.addresses import set_address_header

# 7bit makes the email package choose base64 or quoted-printable for non-ASCII bodies,
# so a relay without 8BITMIME still carries Korean text intact; headers get RFC 2047.
MESSAGE_POLICY = policy.default.clone(cte_type="7bit")
# On every ticket message we send; mail that comes back carrying it is our own, and
# ingest drops it instead of making a ticket of it.
LOOP_HEADER = "X-Helpdesk-Loop"

_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class MailSender(Protocol):
    def send(self, message: EmailMessage) -> str:
        """Deliver the message and return its Message-ID."""


class SMTPConfigError(ValueError):
    """The SMTP URL cannot be used; the message says why."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"
    # An image the HTML part shows by cid: (RFC 2392); it goes beside that part in
    # multipart/related (RFC 2387) instead of among the attachments.
    content_id: str | None = None


@dataclass(frozen=True)
class SMTPSettings:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SMTPSettings:
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS:
            raise SMTPConfigError(
                f"SMTP URL scheme must be smtp://, smtps:// or smtp+starttls://, "
                f"got {parts.scheme or 'none'}://"
            )
        if not parts.hostname:
            raise SMTPConfigError("SMTP URL has no host")
        try:
            port = parts.port or _DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise SMTPConfigError("SMTP URL has an invalid port") from None
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def __repr__(self) -> str:
        # The password must not reach logs or tracebacks through a repr.
        user = f"{self.username}@" if self.username else ""
        return f"SMTPSettings({self.scheme}://{user}{self.host}:{self.port})"


class SMTPSender:
    """Sends over one SMTP connection that stays open across messages.

    A worker sending a campaign would otherwise pay a TCP (and TLS) handshake per
    recipient. Not thread-safe: use one sender per worker process or job.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self.settings = SMTPSettings.from_url(url)
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.local_hostname = local_hostname
        self._connection: smtplib.SMTP | None = None

    def __repr__(self) -> str:
        return f"SMTPSender({self.settings!r})"

    def send(self, message: EmailMessage) -> str:
        message_id = message["Message-ID"]
        if not message_id:
            raise ValueError("message has no Message-ID; build it with build_message()")
        reused = self._connection is not None
        try:
            self._connect().send_message(message)
        except smtplib.SMTPServerDisconnected:
            self.close()
            if not reused:
                raise
            # The relay closed an idle connection. A message is only accepted once the
            # server answers the final dot (RFC 5321 section 4.1.1.4), so sending again
            # on a fresh connection is the protocol's own recovery.
            self._connect().send_message(message)
        return str(message_id)

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()

    def __enter__(self) -> SMTPSender:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        if self._connection is not None:
            return self._connection
        s = self.settings
        if s.scheme == "smtps":
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                s.host,
                s.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=self.ssl_context,
            )
        else:
            connection = smtplib.SMTP(
                s.host, s.port, local_hostname=self.local_hostname, timeout=self.timeout
            )
        try:
            if s.scheme == "smtp+starttls":
                connection.starttls(context=self.ssl_context)
            if s.username:
                connection.login(s.username, s.password or "")
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection


AddressLike = str | Address
ADDRESS_HEADERS = frozenset({"from", "to", "cc", "bcc", "reply-to", "sender"})


def build_message(
    from_addr: AddressLike,
    to: AddressLike | Sequence[AddressLike],
    subject: str,
    text: str,
    html: str | None = None,
    headers: Mapping[str, str] | None = None,
    message_id: str | None = None,
    attachments: Iterable[Attachment] = (),
    *,
    domain: str | None = None,
) -> EmailMessage:
    """A complete message: text (and HTML alternative), attachments, Date and Message-ID.

    `domain` names the Message-ID's right-hand side; pass `config.effective_mail_domain`.
    Without it the sender address's domain is used. Address headers are written by
    `helpdesk.mail.addresses` and raise UnsafeAddress when they would not read back
    as the same addresses.
    """
    message = EmailMessage(policy=MESSAGE_POLICY)
    set_address_header(message, "From", from_addr)
    set_address_header(message, "To", to)
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id or make_msgid(domain=domain or _address_domain(message))
    for name, value in (headers or {}).items():
        if name.lower() in ADDRESS_HEADERS:
            set_address_header(message, name, MESSAGE_POLICY.header_factory(name, value).addresses)
        else:
            del message[name]
            message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        if attachment.content_id and html is not None:
            message.get_body(("html",)).add_related(
                attachment.content,
                maintype=maintype,
                subtype=subtype or "octet-stream",
                cid=f"<{attachment.content_id}>",
                filename=attachment.filename,
                disposition="inline",
            )
            continue
        message.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return message


def _address_domain(message: EmailMessage) -> str:
    addresses = message["From"].addresses
    return addresses[0].domain if addresses and addresses[0].domain else "localhost"
