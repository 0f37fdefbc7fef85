"""The deliveries' state machine in the database: claiming a batch for one worker,
recording each outcome (sent, failed, uncertain, retry later), handing back what was never
sent, and counting failures in a row until the campaign pauses itself.

An outcome is a conditional UPDATE of a row still `sending` under this worker's claim, so
a worker whose claim recovery took over records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    column,
    exists,
    func,
    or_,
    select,
    update,
    values,
)
from sqlalchemy.orm import Session

from helpdesk.campaigns import marketing_rules
from helpdesk.campaigns.advertising import defer_night_deliveries
from helpdesk.campaigns.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryState,
    HoldAction,
    MarketingRules,
    Suppression,
)
from helpdesk.db import UTCDateTime


def claim_batch(
    session: Session, campaign_id: int, worker: str, limit: int, now: datetime
) -> list[int]:
    """Move up to `limit` due pending deliveries to `sending` for this worker.

    The caller commits before talking to SMTP. PostgreSQL workers skip rows another
    worker has locked; SQLite's BEGIN IMMEDIATE lets one claimer in at a time, and the
    conditional UPDATE re-checks the state either way. Deliveries the marketing rules
    hold back are deferred or skipped on the way, as the campaign says.
    """
    # FOR SHARE: a pause or cancel waits for claims under way, so once it has returned no
    # new batch is claimed (SQLite's BEGIN IMMEDIATE serializes them anyway).
    campaign = session.execute(
        select(Campaign.status, Campaign.hold_action)
        .where(Campaign.id == campaign_id)
        .with_for_update(read=True)
    ).one_or_none()
    if campaign is None or campaign.status != CampaignStatus.sending:
        return []
    defer_night_deliveries(session, campaign_id, now)
    rules = marketing_rules.get_rules(session)
    # Each round either claims some or moves every row it looked at out of the due
    # pending ones (skipped, or deferred to a later time), so the loop ends.
    while True:
        ids = _due_pending(session, campaign_id, limit, now)
        if not ids:
            return []
        _skip_suppressed(session, ids)
        if marketing_rules.rules_active(rules):
            _hold_back(session, ids, rules, campaign.hold_action, now)
        claimed = session.scalars(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.state == DeliveryState.pending, _due(now))
            .values(
                state=DeliveryState.sending,
                claimed_by=worker,
                claimed_at=now,
                attempts=Delivery.attempts + 1,
            )
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
        claimed = sorted(claimed)
        if claimed:
            return claimed


def _due_pending(session: Session, campaign_id: int, limit: int, now: datetime) -> list[int]:
    return list(
        session.scalars(
            select(Delivery.id)
            .where(
                Delivery.campaign_id == campaign_id,
                Delivery.state == DeliveryState.pending,
                _due(now),
            )
            .order_by(Delivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def _due(now: datetime):
    return or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now)


def _skip_suppressed(session: Session, ids: list[int]) -> None:
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


HOLD_REASONS = {
    marketing_rules.CAP: "the frequency cap",
    marketing_rules.QUIET_HOURS: "quiet hours",
}


def _hold_back(
    session: Session, ids: list[int], rules: MarketingRules, action: HoldAction, now: datetime
) -> None:
    """Defer or skip the deliveries whose customers the marketing rules hold back now."""
    rows = session.execute(
        select(Delivery.id, Delivery.customer_id).where(
            Delivery.id.in_(ids), Delivery.state == DeliveryState.pending
        )
    ).all()
    allowance = marketing_rules.marketing_sends_allowed(
        session, [row.customer_id for row in rows], now, rules=rules
    )
    held = [
        (row.id, allowance.held[row.customer_id])
        for row in rows
        if row.customer_id in allowance.held
    ]
    if not held:
        return
    table = Delivery.__table__
    skip = action == HoldAction.skip
    session.execute(
        table.update()
        .where(table.c.id == bindparam("delivery_id"))
        .values(
            state=DeliveryState.skipped if skip else DeliveryState.pending,
            next_attempt_at=None if skip else bindparam("until"),
            held_by_cap=or_(table.c.held_by_cap, bindparam("by_cap")),
            held_by_quiet_hours=or_(table.c.held_by_quiet_hours, bindparam("by_quiet")),
            last_error=bindparam("reason"),
        ),
        [
            {
                "delivery_id": delivery_id,
                "until": hold.until,
                "by_cap": hold.reason == marketing_rules.CAP,
                "by_quiet": hold.reason == marketing_rules.QUIET_HOURS,
                "reason": (
                    f"skipped: held back by {HOLD_REASONS[hold.reason]}"
                    if skip
                    else f"deferred by {HOLD_REASONS[hold.reason]} until "
                    f"{hold.until:%Y-%m-%d %H:%M} UTC"
                ),
            }
            for delivery_id, hold in held
        ],
    )


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
