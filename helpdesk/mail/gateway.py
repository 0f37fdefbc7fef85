"""The inbound SMTP gateway's server: aiosmtpd, answering oversized mail with the status
code senders understand. What it accepts and what becomes of a message is decided by the
handler it serves (helpdesk.inbound.gateway)."""

from __future__ import annotations

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

TOO_BIG = "552 5.3.4 Message too big for this server"


class _GatewaySMTP(SMTP):
    async def push(self, status: str) -> None:
        # aiosmtpd refuses oversized DATA without the RFC 3463 enhanced status code that
        # senders use to tell "too big" from other permanent failures.
        if status.startswith("552 Error:"):
            status = TOO_BIG
        await super().push(status)


class GatewayController(Controller):
    def factory(self):
        return _GatewaySMTP(self.handler, **self.SMTP_kwargs)
