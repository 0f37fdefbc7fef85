"""Sending a campaign: the recipient snapshot, claiming batches, one SMTP submission per
delivery, and the state changes that make "at most once per recipient" hold.

A delivery moves `pending -> sending -> sent | failed | pending (retry later)`; a claim is
committed before any SMTP traffic, so a delivery is handed to the relay only by the one
worker that moved it to `sending`. A worker that dies leaves its claimed deliveries in
`sending`; once the lease has run out, `recovery` gives each its outcome from the job's
progress record (`progress`). Nothing ever moves `uncertain` back to `pending`: the relay
may have accepted the message, and a second copy is worse than a missing one.
"""

from __future__ import annotations

import binascii
import re
import secrets
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.generator import BytesGenerator
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from functools import lru_cache
from io import BytesIO
from typing import Protocol

from sqlalchemy import (
    Integer,
    String,
    Text,
    and_,
    bindparam,
    cast,
    column,
    exists,
    func,
    literal,
    or_,
    select,
    update,
    values,
)
from sqlalchemy.orm import Session

from helpdesk.campaigns import rendering, tracking
from helpdesk.campaigns.models import (
    Campaign,
    CampaignLink,
    CampaignStatus,
    Delivery,
    DeliveryState,
    Segment,
    Suppression,
)
from helpdesk.campaigns.progress import ClaimLost, SendProgress
from helpdesk.campaigns.segments import segment_customer_ids_query
from helpdesk.config import Config
from helpdesk.customers.models import Customer
from helpdesk.db import UTCDateTime, utcnow
from helpdesk.mail.outbound import MESSAGE_POLICY, SMTPSender, build_message
from helpdesk.maildomain import mail_domain


class CampaignNotStartable(ValueError):
    """The campaign is not in a state that can start sending, or has no segment."""


class CampaignStateError(ValueError):
    """Pause, resume or cancel asked of a campaign in a state that does not allow it."""


@dataclass(frozen=True)
class SendSettings:
    smtp_url: str
    public_url: str
    secret_key: str
    mail_domain: str | None = None  # MAIL_DOMAIN; None: the host of public_url
    rate_per_second: int = 50
    batch_size: int = 100
    max_consecutive_failures: int = 20
    max_attempts: int = 5
    retry_base_seconds: int = 60
    lease_seconds: int = 600

    @classmethod
    def from_config(cls, config: Config) -> SendSettings:
        return cls(
            smtp_url=config.effective_smtp_url,
            public_url=config.public_url,
            mail_domain=config.mail_domain,
            secret_key=config.secret_key,
            rate_per_second=config.campaign_rate_per_second,
            batch_size=max(1, config.campaign_batch_size),
            max_consecutive_failures=max(1, config.campaign_max_consecutive_failures),
            max_attempts=max(1, config.campaign_max_attempts),
            retry_base_seconds=max(0, config.campaign_retry_base_seconds),
            lease_seconds=max(1, config.campaign_lease_seconds),
        )


# --- starting, pausing, resuming, cancelling -------------------------------------------


def _token_expression(session: Session):
    """A random 32-hex-digit token made by the database, so the snapshot stays one
    INSERT ... SELECT with no round trip per recipient."""
    if session.get_bind().dialect.name == "postgresql":
        return func.replace(cast(func.gen_random_uuid(), Text), "-", "")
    return func.lower(func.hex(func.randomblob(16)))


def start_sending(
    session: Session,
    campaign_id: int,
    now: datetime,
    *,
    enqueue_jobs: Callable[[int], None] | None = None,
) -> int:
    """Snapshot the recipients, mark the campaign `sending`, commit, then let
    `enqueue_jobs(campaign_id)` queue the workers' jobs. Returns the number of recipients.

    Customers who match the segment later are not included: the snapshot is the list.
    """

    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignNotStartable("this campaign does not exist")
    if campaign.segment_id is None:
        raise CampaignNotStartable("choose a segment before sending")
    segment = session.get(Segment, campaign.segment_id)
    started = session.execute(
        update(Campaign)
        .where(
            Campaign.id == campaign_id,
            Campaign.status.in_((CampaignStatus.draft, CampaignStatus.scheduled)),
        )
        .values(status=CampaignStatus.sending, started_at=now, pause_reason="", updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not started:
        raise CampaignNotStartable(f"a {campaign.status} campaign cannot be started")
    member_ids = segment_customer_ids_query(session, segment.rules if segment else {}, now=now)
    recipients = select(
        literal(campaign_id), Customer.id, Customer.email, _token_expression(session)
    ).where(Customer.id.in_(member_ids))
    session.execute(
        Delivery.__table__.insert().from_select(
            ["campaign_id", "customer_id", "email", "token"], recipients
        )
    )
    # Counted afterwards: drivers disagree on the rowcount of INSERT ... SELECT.
    inserted = session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.campaign_id == campaign_id)
    )
    # Only links written out in full can be tracked: a personalised URL differs per
    # recipient and is left as it is.
    links = [url for url in rendering.extract_links(campaign.html_body) if "{" not in url]
    for position, url in enumerate(links):
        session.add(CampaignLink(campaign_id=campaign_id, url=url, position=position))
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(total_recipients=inserted)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if not inserted:
        finish_if_done(session, campaign_id, now)
        session.commit()
    elif enqueue_jobs is not None:
        enqueue_jobs(campaign_id)
    return inserted


def pause_campaign(session: Session, campaign_id: int, now: datetime, *, paused_by: str) -> None:
    """Workers stop before their next claim; claimed deliveries finish their batch.
    `paused_by`: the name of the person pausing it."""
    _transition(
        session,
        campaign_id,
        (CampaignStatus.sending,),
        CampaignStatus.paused,
        now,
        paused_by=paused_by[:200],
    )


def resume_campaign(
    session: Session,
    campaign_id: int,
    now: datetime,
    *,
    enqueue_jobs: Callable[[int], None] | None = None,
) -> None:
    _transition(session, campaign_id, (CampaignStatus.paused,), CampaignStatus.sending, now)
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(consecutive_failures=0)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if enqueue_jobs is not None:
        enqueue_jobs(campaign_id)


def cancel_campaign(session: Session, campaign_id: int, now: datetime) -> None:
    """Deliveries not yet claimed are skipped; those in flight finish their batch."""
    _transition(
        session,
        campaign_id,
        (CampaignStatus.sending, CampaignStatus.paused, CampaignStatus.scheduled),
        CampaignStatus.cancelled,
        now,
    )
    session.execute(
        update(Delivery)
        .where(Delivery.campaign_id == campaign_id, Delivery.state == DeliveryState.pending)
        .values(state=DeliveryState.skipped, last_error="campaign cancelled")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(finished_at=now)
        .execution_options(synchronize_session=False)
    )


def _transition(session, campaign_id, allowed, target, now, *, paused_by: str = "") -> None:
    changed = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status.in_(allowed))
        .values(status=target, paused_by=paused_by, pause_reason="", updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        status = session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
        raise CampaignStateError(f"a {status or 'missing'} campaign cannot become {target}")


# A campaign is done when none of its deliveries is in these states.
OPEN_STATES = (DeliveryState.pending, DeliveryState.sending)


def finish_if_done(session: Session, campaign_id: int, now: datetime) -> bool:
    """`sending -> sent` once no delivery is waiting or in flight."""
    open_work = exists().where(Delivery.campaign_id == campaign_id, Delivery.state.in_(OPEN_STATES))
    return bool(
        session.execute(
            update(Campaign)
            .where(
                Campaign.id == campaign_id, Campaign.status == CampaignStatus.sending, ~open_work
            )
            .values(status=CampaignStatus.sent, finished_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


# --- claiming and recording outcomes ----------------------------------------------------


def claim_batch(
    session: Session, campaign_id: int, worker: str, limit: int, now: datetime
) -> list[int]:
    """Move up to `limit` due pending deliveries to `sending` for this worker.

    The caller commits before talking to SMTP. PostgreSQL workers skip rows another
    worker has locked; SQLite's BEGIN IMMEDIATE lets one claimer in at a time, and the
    conditional UPDATE re-checks the state either way.
    """
    # FOR SHARE: a pause or cancel waits for claims under way, so once it has returned no
    # new batch is claimed (SQLite's BEGIN IMMEDIATE serializes them anyway).
    status = session.scalar(
        select(Campaign.status).where(Campaign.id == campaign_id).with_for_update(read=True)
    )
    if status != CampaignStatus.sending:
        return []
    ids = list(
        session.scalars(
            select(Delivery.id)
            .where(
                Delivery.campaign_id == campaign_id,
                Delivery.state == DeliveryState.pending,
                or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
            )
            .order_by(Delivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return []
    # An address suppressed after the snapshot (an unsubscribe from an earlier mail of
    # this very campaign, a bounce) is not mailed.
    session.execute(
        update(Delivery)
        .where(
            Delivery.id.in_(ids),
            Delivery.state == DeliveryState.pending,
            exists().where(Suppression.email == func.lower(Delivery.email)),
        )
        .values(state=DeliveryState.skipped, last_error="address is on the suppression list")
        .execution_options(synchronize_session=False)
    )
    claimed = session.scalars(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.state == DeliveryState.pending)
        .values(
            state=DeliveryState.sending,
            claimed_by=worker,
            claimed_at=now,
            attempts=Delivery.attempts + 1,
        )
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(claimed)


def _mine(delivery_id: int, worker: str):
    return and_(
        Delivery.id == delivery_id,
        Delivery.state == DeliveryState.sending,
        Delivery.claimed_by == worker,
    )


def mark_sent(session: Session, worker: str, sent: list[tuple[int, str, datetime]]) -> None:
    """Record accepted messages: (delivery id, Message-ID, time).

    PostgreSQL gets one UPDATE ... FROM (VALUES ...), a single statement to plan and run
    instead of one per message; SQLite, which has no column names for a VALUES list and
    runs in this process anyway, one executemany."""
    if not sent:
        return
    mine = (Delivery.state == DeliveryState.sending, Delivery.claimed_by == worker)
    if session.get_bind().dialect.name != "postgresql":
        table = Delivery.__table__
        session.execute(
            table.update()
            .where(table.c.id == bindparam("delivery_id"), *mine)
            .values(
                state=DeliveryState.sent,
                message_id=bindparam("accepted_id"),
                sent_at=bindparam("accepted_at"),
                last_error="",
            ),
            [
                {"delivery_id": delivery_id, "accepted_id": message_id, "accepted_at": at}
                for delivery_id, message_id, at in sent
            ],
        )
        return
    accepted = values(
        column("id", Integer),
        column("message_id", String),
        column("sent_at", UTCDateTime),
        name="accepted",
    ).data(sent)
    session.execute(
        update(Delivery)
        .where(Delivery.id == accepted.c.id, *mine)
        .values(
            state=DeliveryState.sent,
            message_id=accepted.c.message_id,
            sent_at=accepted.c.sent_at,
            last_error="",
        )
        .execution_options(synchronize_session=False)
    )


def mark_failed(session: Session, delivery_id: int, worker: str, error: str) -> None:
    session.execute(
        update(Delivery)
        .where(_mine(delivery_id, worker))
        .values(state=DeliveryState.failed, last_error=error[:2000])
        .execution_options(synchronize_session=False)
    )


def mark_uncertain(session: Session, delivery_id: int, worker: str, error: str) -> None:
    session.execute(
        update(Delivery)
        .where(_mine(delivery_id, worker))
        .values(state=DeliveryState.uncertain, last_error=error[:2000])
        .execution_options(synchronize_session=False)
    )


def mark_retry(
    session: Session, delivery_id: int, worker: str, error: str, next_attempt_at: datetime
) -> None:
    session.execute(
        update(Delivery)
        .where(_mine(delivery_id, worker))
        .values(
            state=DeliveryState.pending,
            claimed_by="",
            next_attempt_at=next_attempt_at,
            last_error=error[:2000],
        )
        .execution_options(synchronize_session=False)
    )


def release(session: Session, delivery_ids: list[int], worker: str) -> None:
    """Hand back claimed deliveries that were never given to SMTP (the campaign paused)."""
    if not delivery_ids:
        return
    session.execute(
        update(Delivery)
        .where(
            Delivery.id.in_(delivery_ids),
            Delivery.state == DeliveryState.sending,
            Delivery.claimed_by == worker,
        )
        .values(state=DeliveryState.pending, claimed_by="", attempts=Delivery.attempts - 1)
        .execution_options(synchronize_session=False)
    )


def record_failure(session: Session, campaign_id: int, limit: int, reason: str, now: datetime):
    """Count a failure in a row; at `limit` the campaign pauses itself with the reason.
    Returns True when this failure paused it."""
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(consecutive_failures=Campaign.consecutive_failures + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(
        session.execute(
            update(Campaign)
            .where(
                Campaign.id == campaign_id,
                Campaign.status == CampaignStatus.sending,
                Campaign.consecutive_failures >= limit,
            )
            .values(
                status=CampaignStatus.paused,
                paused_by="",
                pause_reason=reason[:2000],
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def reset_failures(session: Session, campaign_id: int) -> None:
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.consecutive_failures != 0)
        .values(consecutive_failures=0)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Outlook:
    """What is left of a campaign when a job finds nothing to claim."""

    waiting: int
    # Earliest retry time among the waiting; None when one is due now (and locked by
    # another job).
    next_due: datetime | None
    # When the oldest delivery now in flight was claimed; None when none is in flight.
    oldest_claim: datetime | None


def outlook(session: Session, campaign_id: int) -> Outlook:
    waiting, next_due = session.execute(
        select(func.count(), func.min(Delivery.next_attempt_at)).where(
            Delivery.campaign_id == campaign_id, Delivery.state == DeliveryState.pending
        )
    ).one()
    oldest_claim = session.scalar(
        select(func.min(Delivery.claimed_at)).where(
            Delivery.campaign_id == campaign_id, Delivery.state == DeliveryState.sending
        )
    )
    return Outlook(waiting, next_due, oldest_claim)


# --- building and submitting messages ---------------------------------------------------


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


def load_content(session: Session, campaign_id: int) -> tuple[Campaign, dict[str, int]]:
    campaign = session.get(Campaign, campaign_id)
    links = {
        link.url: link.position
        for link in session.scalars(
            select(CampaignLink).where(CampaignLink.campaign_id == campaign_id)
        )
    }
    return campaign, links


@dataclass(frozen=True)
class OutgoingMessage:
    """One recipient's message as it goes on the wire (CRLF line ends, before SMTP's
    dot-stuffing), with its envelope sender (the VERP bounce address)."""

    data: bytes
    mail_from: str
    message_id: str


def build_campaign_message(
    campaign: Campaign,
    links: dict[str, int],
    delivery_token: str,
    email: str,
    context: dict,
    settings: SendSettings,
) -> OutgoingMessage:
    """The personalised message: what `build_message` would make of it, written out
    directly (see `_campaign_mime`), or made by `build_message` itself when an address
    or header needs more than that writer knows."""
    domain = mail_domain(settings.public_url, settings.mail_domain)
    urls = tracking.tracking_urls(
        settings.public_url, settings.secret_key, delivery_token, campaign.id
    )
    subject, html, text = rendering.render_for_delivery(
        campaign,
        context,
        {"unsubscribe_url": urls.unsubscribe_url, "view_in_browser_url": urls.view_in_browser_url},
    )
    html = tracking.rewrite_links(html, links, urls)
    pixel = f'<img src="{urls.open_url}" width="1" height="1" alt="" style="border:0">'
    html = html.replace("</body>", pixel + "</body>", 1) if "</body>" in html else html + pixel
    headers = {
        "List-Unsubscribe": (
            f"<{urls.unsubscribe_url}>, <{tracking.unsubscribe_mailto(delivery_token, domain)}>"
        ),
        # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" to the https URL.
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Precedence": "bulk",
    }
    if campaign.reply_to:
        headers["Reply-To"] = campaign.reply_to
    message_id = f"<campaign.{campaign.id}.{delivery_token}@{domain}>"
    mail_from = f"bounces+{delivery_token}@{domain}"
    try:
        data = _campaign_mime(
            campaign.from_name, campaign.from_email, email, subject, text, html, headers, message_id
        )
    except _BeyondTheFastWriter:
        sender = Address(display_name=campaign.from_name, addr_spec=campaign.from_email)
        message = build_message(
            sender, email, subject, text, html, headers=headers, message_id=message_id
        )
        data = _flatten(message)
    return OutgoingMessage(data, mail_from, message_id)


# Header values written as they are: long lines are allowed up to RFC 5322's 998, which
# keeps List-Unsubscribe's URLs intact (the email package folds a long URL into RFC 2047
# encoded words, which List-Unsubscribe parsers do not decode).
_FLATTEN_POLICY = MESSAGE_POLICY.clone(linesep="\r\n", max_line_length=998)


def _flatten(message: EmailMessage) -> bytes:
    buffer = BytesIO()
    BytesGenerator(buffer, policy=_FLATTEN_POLICY).flatten(message)
    return buffer.getvalue()


class _BeyondTheFastWriter(ValueError):
    """A value `_campaign_mime` does not write itself (a non-ASCII address, a line break
    in a header); `build_message` makes that message instead."""


def _plain_header(name: str, value: str) -> str:
    if not value.isascii() or "\r" in value or "\n" in value or len(name) + len(value) > 996:
        raise _BeyondTheFastWriter(name)
    return f"{name}: {value}\r\n"


# Non-ASCII header text is left to the email package: its RFC 2047 words keep within
# 75 characters and read back with the right spacing.
_RFC2047_POLICY = MESSAGE_POLICY.clone(linesep="\r\n")


@lru_cache(maxsize=1024)
def _encoded_header(name: str, value: str, address: str | None = None) -> str:
    """`value` alone, or as the display name of `address`."""
    message = EmailMessage(policy=_RFC2047_POLICY)
    message[name] = value if address is None else Address(display_name=value, addr_spec=address)
    return _RFC2047_POLICY.fold(name, message[name])


def _address_header(name: str, display_name: str, address: str) -> str:
    """An address with its display name, quoted when it has specials; the same for every
    recipient, so a non-ASCII name is encoded once per campaign."""
    if "\r" in display_name or "\n" in display_name or not address.isascii():
        raise _BeyondTheFastWriter(name)
    if display_name.isascii():
        return _plain_header(name, formataddr((display_name, address)))
    return _encoded_header(name, display_name, address)


def _text_header(name: str, value: str) -> str:
    """Unstructured text (the subject): folded at spaces; RFC 2047 words when not ASCII."""
    if "\r" in value or "\n" in value:
        raise _BeyondTheFastWriter(name)
    if not value.isascii():
        return _encoded_header(name, value)
    if len(name) + len(value) <= 76:
        return f"{name}: {value}\r\n"
    encoded = Header(value, "us-ascii", header_name=name).encode(linesep="\r\n")
    folded = f"{name}: {encoded}"
    if any(len(line) > 998 for line in folded.split("\r\n")):
        raise _BeyondTheFastWriter(name)
    return f"{folded}\r\n"


def _mime_part(content: str, subtype: str) -> str:
    """A text part as `build_message` makes it under a 7bit policy: as it is when ASCII
    with short lines, quoted-printable otherwise."""
    lines = content.replace("\r\n", "\n").replace("\r", "\n")
    if not lines.endswith("\n"):
        lines += "\n"
    if lines.isascii() and max(map(len, lines.split("\n"))) <= 78:
        encoding, body = "7bit", lines.replace("\n", "\r\n")
    else:
        encoding = "quoted-printable"
        body = binascii.b2a_qp(lines.encode(), istext=True).decode("ascii")
        body = body.replace("\n", "\r\n")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n{body}"
    )


def _campaign_mime(
    from_name: str,
    from_email: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    headers: dict[str, str],
    message_id: str,
) -> bytes:
    """The multipart/alternative message `build_message` would make, written directly.

    The email package parses and refolds every header on the way in and out, which costs
    milliseconds per message and is most of a campaign's sending time; these messages
    have a fixed shape, so they are written in one pass. Anything unusual raises
    `_BeyondTheFastWriter` and goes the long way.
    """
    parts = [_mime_part(text, "plain"), _mime_part(html, "html")]
    boundary = f"=_{secrets.token_hex(16)}"
    if any(boundary in part for part in parts):
        raise _BeyondTheFastWriter("boundary")
    head = [
        _address_header("From", from_name, from_email),
        _plain_header("To", to),
        _text_header("Subject", subject),
        _plain_header("Date", format_datetime(utcnow())),
        _plain_header("Message-ID", message_id),
        *(_plain_header(name, value) for name, value in headers.items()),
        "MIME-Version: 1.0\r\n",
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n',
    ]
    body = "".join(f"\r\n--{boundary}\r\n{part}" for part in parts)
    return f"{''.join(head)}{body}\r\n--{boundary}--\r\n".encode("ascii")


# Accepted messages are recorded every SENT_FLUSH_SECONDS, or sooner once SENT_FLUSH wait.
SENT_FLUSH_SECONDS = 0.25
SENT_FLUSH = 500


@dataclass
class BatchResult:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    uncertain: int = 0
    paused: bool = False
    # The worker is stopping: the deliveries not yet handed over went back to pending.
    stopped: bool = False
    # Recovery took the batch over (this job was presumed dead): nothing more may be sent.
    lost: bool = False

    def add(self, other: BatchResult) -> None:
        for name in ("sent", "failed", "retried", "uncertain"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def send_batch(
    session: Session,
    campaign_id: int,
    delivery_ids: list[int],
    worker: str,
    sender: CampaignSender,
    settings: SendSettings,
    *,
    progress: SendProgress,
    clock: Callable[[], datetime],
    wait_for_slot: Callable[[], None] = lambda: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> BatchResult:
    """Send the claimed deliveries one by one and record each outcome.

    Accepted messages are recorded in the database in groups, every SENT_FLUSH_SECONDS
    (or SENT_FLUSH messages), which saves a commit per message; `progress` keeps the
    per-message truth in Redis meanwhile, so a kill at any moment leaves at most the one
    message in flight uncertain. Refusals and uncertain outcomes are committed at once.
    """
    result = BatchResult()
    campaign, links = load_content(session, campaign_id)
    rows = session.execute(
        select(Delivery.id, Delivery.token, Delivery.email, Delivery.customer_id, Delivery.attempts)
        .where(Delivery.id.in_(delivery_ids))
        .order_by(Delivery.id)
    ).all()
    contexts = rendering.customer_contexts(session, [row.customer_id for row in rows])
    session.commit()
    failures_pending_reset = campaign.consecutive_failures > 0
    accepted: list[tuple[int, str, datetime]] = []
    flush_due = time.monotonic() + SENT_FLUSH_SECONDS

    def flush_accepted() -> None:
        nonlocal flush_due
        mark_sent(session, worker, accepted)
        accepted.clear()
        session.commit()
        flush_due = time.monotonic() + SENT_FLUSH_SECONDS

    for index, row in enumerate(rows):
        if should_stop():
            release(session, [r.id for r in rows[index:]], worker)
            result.stopped = True
            break
        try:
            message = build_campaign_message(
                campaign, links, row.token, row.email, contexts.get(row.customer_id, {}), settings
            )
        except Exception as exc:
            # A template that cannot render for this customer is that delivery's problem.
            outcome_error = f"could not build the message: {exc}"
            mark_failed(session, row.id, worker, outcome_error)
            result.failed += 1
        else:
            wait_for_slot()
            try:
                outcome_error = _submit(
                    session, row, message, worker, sender, settings, result, progress, clock
                )
            except ClaimLost:
                session.rollback()
                result.lost = True
                return result
        if outcome_error is None:
            accepted_at = clock()
            accepted.append((row.id, message.message_id, accepted_at))
            progress.accepted(row.id, message.message_id, accepted_at)
            result.sent += 1
            if failures_pending_reset:
                reset_failures(session, campaign_id)
                failures_pending_reset = False
            if len(accepted) >= SENT_FLUSH or time.monotonic() >= flush_due:
                flush_accepted()
            continue
        failures_pending_reset = True
        paused = record_failure(
            session, campaign_id, settings.max_consecutive_failures, outcome_error, clock()
        )
        if paused:
            release(session, [r.id for r in rows[index + 1 :]], worker)
            result.paused = True
        flush_accepted()
        if paused:
            break
    flush_accepted()
    progress.close_batch()
    return result


def _submit(session, row, message, worker, sender, settings, result, progress, clock) -> str | None:
    """Hand one delivery's message to the relay and record a refusal; returns the error
    text, or None when the relay accepted it."""
    try:
        sender.submit(message, row.email, progress.guard(row.id))
    except PermanentFailure as exc:
        mark_failed(session, row.id, worker, str(exc))
        result.failed += 1
        return str(exc)
    except TransientFailure as exc:
        if row.attempts >= settings.max_attempts:
            mark_failed(session, row.id, worker, f"gave up after {row.attempts} attempts: {exc}")
            result.failed += 1
        else:
            delay = settings.retry_base_seconds * 2 ** (row.attempts - 1)
            mark_retry(session, row.id, worker, str(exc), clock() + timedelta(seconds=delay))
            result.retried += 1
        return str(exc)
    except UncertainFailure as exc:
        mark_uncertain(session, row.id, worker, str(exc))
        result.uncertain += 1
        return str(exc)
    return None


# --- the global rate limit --------------------------------------------------------------

# A token bucket shared by every worker: refilled at `rate` per second up to one second's
# worth; answers how long to wait (0 when a token was taken). Redis TIME keeps one clock.
_TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""

RATE_KEY = "helpdesk:campaigns:rate"


class RateLimiter:
    def __init__(self, redis, rate_per_second: int, key: str = RATE_KEY) -> None:
        self.rate = rate_per_second
        self.key = key
        self._script = redis.register_script(_TOKEN_BUCKET) if rate_per_second > 0 else None

    def wait(self) -> None:
        if self._script is None:
            return
        burst = max(1, self.rate)
        while True:
            delay = float(self._script(keys=[self.key], args=[self.rate, burst]))
            if delay <= 0:
                return
            time.sleep(delay)
