"""What a sending job that died leaves behind, put right: deliveries it left `sending` get
their outcome from its progress record once the lease has run out, and campaigns with
nothing left to do are finished.

`campaigns.jobs.check_campaigns` runs this whenever a worker starts, at the start of each
sending job, and every CAMPAIGN_CHECK_SECONDS while a campaign is sending.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, exists, or_, select, update
from sqlalchemy.orm import Session

from helpdesk.campaigns import progress
from helpdesk.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState
from helpdesk.campaigns.sending import OPEN_STATES, finish_if_done, record_campaign_sent

UNCERTAIN_REASON = (
    "the worker sending this message stopped before recording the relay's answer; "
    "not sent again so nobody gets two copies"
)


@dataclass
class Recovered:
    sent: int = 0
    pending: int = 0
    uncertain: int = 0


def recover_stale_deliveries(
    session: Session, redis, now: datetime, lease_seconds: int
) -> Recovered:
    """Give every delivery claimed longer than the lease ago, and still `sending`, the
    outcome its job's progress record shows, and commit. Without a record (Redis lost it)
    every one of them is uncertain, as nobody can tell which the relay took."""
    cutoff = now - timedelta(seconds=lease_seconds)
    stale = session.execute(
        select(Delivery.id, Delivery.claimed_by, Delivery.campaign_id).where(
            Delivery.state == DeliveryState.sending, Delivery.claimed_at < cutoff
        )
    ).all()
    by_claimer: dict[str, list[int]] = defaultdict(list)
    for row in stale:
        by_claimer[row.claimed_by].append(row.id)
    recovered = Recovered()
    for claimer, ids in by_claimer.items():
        _settle(session, ids, progress.take_over(redis, claimer), recovered)
    for campaign_id in {row.campaign_id for row in stale}:
        finish_if_done(session, campaign_id, now)
    session.commit()
    progress.forget(redis, list(by_claimer))
    return recovered


def _settle(
    session: Session, ids: list[int], record: progress.BatchRecord | None, recovered: Recovered
) -> None:
    if record is None:
        _mark_uncertain(session, ids)
        recovered.uncertain += len(ids)
        return
    sent = [id_ for id_ in ids if id_ in record.accepted]
    if sent:
        table = Delivery.__table__
        session.execute(
            table.update()
            .where(table.c.id == bindparam("delivery_id"))
            .values(
                state=DeliveryState.sent,
                message_id=bindparam("accepted_id"),
                sent_at=bindparam("accepted_at"),
                last_error="",
            ),
            [
                {
                    "delivery_id": id_,
                    "accepted_id": record.accepted[id_].message_id,
                    "accepted_at": record.accepted[id_].at,
                }
                for id_ in sent
            ],
        )
    in_flight = [id_ for id_ in ids if id_ == record.in_flight]
    _mark_uncertain(session, in_flight)
    untouched = [id_ for id_ in ids if id_ not in record.accepted and id_ != record.in_flight]
    if untouched:
        # Never handed to the relay: back in the queue, and the claim's attempt not counted.
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(untouched), Delivery.state == DeliveryState.sending)
            .values(state=DeliveryState.pending, claimed_by="", attempts=Delivery.attempts - 1)
            .execution_options(synchronize_session=False)
        )
    recovered.sent += len(sent)
    recovered.uncertain += len(in_flight)
    recovered.pending += len(untouched)


def _mark_uncertain(session: Session, ids: list[int]) -> None:
    if ids:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.state == DeliveryState.sending)
            .values(state=DeliveryState.uncertain, last_error=UNCERTAIN_REASON)
            .execution_options(synchronize_session=False)
        )


def finish_campaigns_without_work(session: Session, now: datetime) -> int:
    """Every `sending` campaign with no delivery waiting or in flight becomes `sent` (its
    last job died after the last outcome was committed)."""
    finished = list(
        session.scalars(
            update(Campaign)
            .where(Campaign.status == CampaignStatus.sending, ~_open_work())
            .values(status=CampaignStatus.sent, finished_at=now)
            .returning(Campaign.id)
            .execution_options(synchronize_session=False)
        )
    )
    record_campaign_sent(session, finished, now)
    return len(finished)


def _open_work():
    return exists().where(Delivery.campaign_id == Campaign.id, Delivery.state.in_(OPEN_STATES))


def campaigns_with_work(session: Session, now: datetime) -> list[int]:
    """Sending campaigns with recipients due now: each needs a job. Deliveries deferred
    to later (a retry, the frequency cap, quiet hours) wait for a later check."""
    return list(
        session.scalars(
            select(Campaign.id).where(
                Campaign.status == CampaignStatus.sending,
                exists().where(
                    Delivery.campaign_id == Campaign.id,
                    Delivery.state == DeliveryState.pending,
                    or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
                ),
            )
        )
    )


def sending_campaign_ids(session: Session) -> list[int]:
    return list(
        session.scalars(select(Campaign.id).where(Campaign.status == CampaignStatus.sending))
    )
