"""Sending a campaign: the recipient snapshot when it starts, pausing, resuming,
cancelling and finishing it, and the settings every part of sending shares.

A delivery moves `pending -> sending -> sent | failed | pending (retry later)`
(`deliveries`); a claim is committed before any SMTP traffic, so a delivery is handed to
the relay only by the one worker that moved it to `sending`. A job sends its claimed
batch in `send_loop`: each message built by `mime`, handed to the relay by `submission`,
at the pace `rate_limit` allows. A worker that dies leaves its claimed deliveries in
`sending`; once the lease has run out, `recovery` gives each its outcome from the job's
progress record (`progress`). Nothing ever moves `uncertain` back to `pending`: the relay
may have accepted the message, and a second copy is worse than a missing one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Text, cast, exists, func, literal, select, update
from sqlalchemy.orm import Session

from helpdesk.campaigns import rendering
from helpdesk.campaigns.models import (
    Campaign,
    CampaignLink,
    CampaignStatus,
    Delivery,
    DeliveryState,
    Segment,
)
from helpdesk.campaigns.segments import segment_customer_ids_query
from helpdesk.config import Config
from helpdesk.customers.models import Customer
from helpdesk.events.service import Subject, record_events


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
    finished = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.sending, ~open_work)
        .values(status=CampaignStatus.sent, finished_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if finished:
        record_campaign_sent(session, [campaign_id], now)
    return bool(finished)


def record_campaign_sent(session: Session, campaign_ids: list[int], now: datetime) -> None:
    """campaign.sent for each campaign that has just finished sending."""
    record_events(
        session,
        "campaign.sent",
        [
            (
                Subject("campaign", campaign_id),
                {"campaign_id": campaign_id, "finished_at": now.isoformat()},
            )
            for campaign_id in campaign_ids
        ],
        now=now,
    )
