"""A real SMTP server (aiosmtpd on a free port) whose answers a test can script."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

from tests.helpers import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self):
        return message_from_bytes(self.content, policy=policy.default)


@dataclass
class ScriptedHandler:
    """Accepts everything unless `on_rcpt` / `on_data` say otherwise.

    Each hook gets the recipient and returns None (go on), an SMTP reply line, or "DROP"
    to cut the connection without answering.
    """

    on_rcpt: Callable[[str], str | None] | None = None
    on_data: Callable[[str], str | None] | None = None
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        answer = self.on_rcpt(address) if self.on_rcpt else None
        if answer == "DROP":
            server.transport.close()
            return "421 closing"
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            time.sleep(self.delay)
        answer = self.on_data(envelope.rcpt_tos[0]) if self.on_data else None
        if answer == "DROP":
            server.transport.close()
            return "421 closing"
        if answer:
            return answer
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
            )
        return "250 Message accepted for delivery"

    def recipients(self) -> Counter:
        with self.lock:
            return Counter(rcpt for item in self.received for rcpt in item.rcpt_tos)


class SMTPSink:
    def __init__(self, handler: ScriptedHandler) -> None:
        self.handler = handler
        self.port = free_port()
        self.controller = Controller(handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SMTPSink:
        self.controller.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"
