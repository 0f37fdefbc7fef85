"""The inbound SMTP gateway: mail delivered straight to us becomes tickets like polled mail.

It accepts mail only for active mailbox addresses (and the campaigns' bounce and
unsubscribe addresses at our own domain) and answers 250 only after the raw bytes
are committed; when the database cannot take them the sender gets a temporary failure
(451) and retries later, so a message is never acknowledged and then lost. Receipts for
new tickets go to the mail queue once the ticket is committed.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import threading

from sqlalchemy import func, select

from helpdesk.config import Config
from helpdesk.db import database
from helpdesk.inbound.incoming import IngestSettings
from helpdesk.inbound.ingest import ingest_message, queue_after_ingest, recover_unprocessed
from helpdesk.mail.gateway import GatewayController
from helpdesk.mail.models import Mailbox, RawSource
from helpdesk.maildomain import canonical_domain, own_mail_domains

log = logging.getLogger(__name__)

UNKNOWN_RECIPIENT = "550 5.1.1 No such mailbox here"
# Campaign mail goes out with a VERP return path and a List-Unsubscribe mailto at our
# mail domain (helpdesk.campaigns.sending); what comes back there belongs to no mailbox.
_CAMPAIGN_RETURN = re.compile(r"^(?:bounces|unsubscribe)\+[a-z0-9]+@(?P<domain>[^@]+)$")
TRY_AGAIN = "451 4.3.0 Temporary problem storing the message, please try again later"


class GatewayHandler:
    """aiosmtpd handler; database work runs in worker threads so the event loop stays free."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.settings = IngestSettings.from_config(config)
        self.own_domains = own_mail_domains(config.public_url, config.mail_domain)
        database.configure(config.database_url)

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options):
        loop = asyncio.get_running_loop()
        try:
            mailbox_id = await loop.run_in_executor(None, self.mailbox_for, address)
        except Exception:
            log.exception("cannot look up recipient %s", address)
            return TRY_AGAIN
        if mailbox_id is None and not self.is_campaign_return(address):
            return UNKNOWN_RECIPIENT
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server, session, envelope):
        loop = asyncio.get_running_loop()
        raw = envelope.original_content
        try:
            await loop.run_in_executor(None, self.ingest, raw, list(envelope.rcpt_tos))
        except Exception:
            log.exception("cannot store a message from %s", envelope.mail_from)
            return TRY_AGAIN
        return "250 2.0.0 Message accepted"

    def is_campaign_return(self, address: str) -> bool:
        match = _CAMPAIGN_RETURN.match(address.strip().strip("<>").lower())
        return match is not None and canonical_domain(match.group("domain")) in self.own_domains

    def mailbox_for(self, address: str) -> int | None:
        # Mailbox addresses are stored lower-cased (mail/service.py); an exact match is all
        # that is needed, and stricter parsing would refuse addresses we do host.
        address = address.strip().strip("<>").lower()
        with database.session() as session:
            return session.scalar(
                select(Mailbox.id).where(
                    func.lower(Mailbox.address) == address, Mailbox.is_active.is_(True)
                )
            )

    def ingest(self, raw: bytes, recipients: list[str]) -> None:
        # One ingest per mailbox, as if each had received its own copy; the Message-ID
        # dedupe keeps that to one ticket. A failure to store raises, which answers 451.
        mailbox_ids = list(dict.fromkeys(self.mailbox_for(address) for address in recipients))
        with database.session() as session:
            for mailbox_id in mailbox_ids:
                outcome = ingest_message(
                    session,
                    raw,
                    source=RawSource.smtp,
                    settings=self.settings,
                    mailbox_id=mailbox_id,
                )
                # Committed: queued now, so a later failure (and 451) cannot lose it.
                queue_after_ingest(self.config, [outcome])


def make_gateway(config: Config, port: int | None = None) -> GatewayController:
    return GatewayController(
        GatewayHandler(config),
        hostname=config.smtpd_host,
        port=config.smtpd_port if port is None else port,
        data_size_limit=config.smtpd_max_bytes,
        enable_SMTPUTF8=True,
    )


def run_gateway(config: Config) -> None:
    """Serve in the foreground until SIGINT or SIGTERM; `helpdesk smtpd` uses this."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    recovered = recover_unprocessed(config)
    if recovered:
        log.warning("took in %d stored messages a crash had left unprocessed", recovered)
    controller = make_gateway(config)
    controller.start()
    print(
        f"SMTP gateway listening on {config.smtpd_host}:{config.smtpd_port} "
        f"(max {config.smtpd_max_bytes} bytes per message)",
        flush=True,
    )
    try:
        stop.wait()
    finally:
        controller.stop()
