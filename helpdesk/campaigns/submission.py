"""Handing one campaign message to the SMTP relay, and telling a refusal for good (5xx)
from one for now (4xx, a broken connection before the body) and from a break after the
body, when the relay may already hold the message (uncertain).
"""

from __future__ import annotations

import re
import smtplib
from dataclasses import dataclass
from typing import Protocol

from helpdesk.mail.outbound import SMTPSender


class TransientFailure(Exception):
    """The relay did not take the message this time (4xx, connection trouble before DATA)."""


class PermanentFailure(Exception):
    """The relay refused the message for good (5xx)."""


class UncertainFailure(Exception):
    """The connection broke after the message body was sent: it may have been accepted."""


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


def _raise_for(code: int, text) -> None:
    if 500 <= code < 600:
        raise PermanentFailure(_reply(code, text))
    raise TransientFailure(_reply(code, text))


_LEADING_DOT = re.compile(rb"(?m)^\.")


_BARE_ADDRESS = re.compile(r"[^\s<>()\[\]\\,;:\"]+@[^\s<>()\[\]\\,;:\"@]+")


def _path(address: str) -> str:
    """The SMTP path of an address (RFC 5321 section 4.1.2): a plain address goes in
    angle brackets as it is; anything else is left to smtplib's parsing, as before."""
    if _BARE_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return smtplib.quoteaddr(address)


class BodyGuard(Protocol):
    """Told when a message is about to be handed over, and asked once more right before
    its body goes out (`progress.SendProgress` keeps the per-message record this way)."""

    def announce(self) -> None: ...

    def confirm(self) -> None: ...


class _NoGuard:
    def announce(self) -> None:
        pass

    def confirm(self) -> None:
        pass


_NO_GUARD = _NoGuard()


@dataclass(frozen=True)
class OutgoingMessage:
    """One recipient's message as it goes on the wire (CRLF line ends, before SMTP's
    dot-stuffing), with its envelope sender (the VERP bounce address)."""

    data: bytes
    mail_from: str
    message_id: str


class CampaignSender(SMTPSender):
    """The shared sender, plus an envelope sender (the VERP address) and a submission that
    knows whether the relay may already hold the message when something breaks."""

    def submit(self, message: OutgoingMessage, recipient: str, guard: BodyGuard | None = None):
        """Hand one message to the relay. `guard.announce()` runs before the envelope and
        `guard.confirm()` right before the body: if it raises, the connection is dropped
        without the final dot, so the relay discards the message."""
        guard = guard or _NO_GUARD
        mail_from = message.mail_from
        body = _LEADING_DOT.sub(b"..", message.data)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        reused = self._connection is not None
        guard.announce()
        try:
            self._envelope(mail_from, recipient)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            self.close()
            if not reused:
                raise TransientFailure("connection closed before the message was sent") from None
            # An idle connection the relay dropped; nothing was handed over yet.
            try:
                self._envelope(mail_from, recipient)
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                self.close()
                raise TransientFailure(f"connection failed: {exc}") from None
        except OSError as exc:
            self.close()
            raise TransientFailure(f"connection failed: {exc}") from None
        connection = self._connection
        try:
            guard.confirm()
        except BaseException:
            # Not QUIT: after 354 the relay would take it for message text. Closing the
            # socket mid-DATA makes it discard what it has.
            self._connection = None
            connection.close()
            raise
        try:
            connection.send(body + b".\r\n")
            code, text = connection.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            # RFC 5321 section 4.1.1.4: only the reply to the final dot says whether the
            # relay took responsibility; without it we cannot know.
            raise UncertainFailure(f"no answer after the message was sent: {exc}") from None
        if code != 250:
            if code == 421:
                self.close()
            _raise_for(code, text)

    def _envelope(self, mail_from: str, recipient: str) -> None:
        try:
            connection = self._connect()
            connection.ehlo_or_helo_if_needed()
            code, text = connection.docmd("MAIL", f"FROM:{_path(mail_from)}")
            if code != 250:
                self._abort(connection, code)
                _raise_for(code, text)
            code, text = connection.docmd("RCPT", f"TO:{_path(recipient)}")
            if code not in (250, 251):
                self._abort(connection, code)
                _raise_for(code, text)
            code, text = connection.docmd("DATA")
            if code != 354:
                self._abort(connection, code)
                _raise_for(code, text)
        except smtplib.SMTPResponseException as exc:
            self.close()
            _raise_for(exc.smtp_code, exc.smtp_error)

    def _abort(self, connection: smtplib.SMTP, code: int) -> None:
        if code == 421:
            self.close()
            return
        try:
            connection.rset()
        except (smtplib.SMTPException, OSError):
            self.close()
