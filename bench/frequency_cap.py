"""What the frequency cap costs the claim of deliveries, on PostgreSQL.

Customers who each had three earlier campaigns this week get one more campaign, claimed
in batches of 1,000 and recorded as sent the way the sending jobs do (no SMTP), three
times: without marketing rules; with a cap per 7 days one above what each customer has
had by then (every customer checked and allowed: the cost of the check and of the
customers' row locks); with a cap each has reached (every customer deferred). The
customers and the earlier deliveries are bulk inserts (SQLAlchemy Core
`insert(Model)`), the rules are saved by their service.

    .venv/bin/python bench/frequency_cap.py [--customers N] [--postgres-url URL]
    .venv/bin/python bench/frequency_cap.py --quick    (2,000 customers, a few seconds)

Ends with one line: claims_per_s_no_rules=... claims_per_s_cap_checked=... holds_per_s=...
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.support import POSTGRES_URL, temporary_postgres_database  # noqa: E402
from helpdesk.campaigns import marketing_rules  # noqa: E402
from helpdesk.campaigns.deliveries import claim_batch, mark_sent  # noqa: E402
from helpdesk.campaigns.models import (  # noqa: E402
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryState,
)
from helpdesk.customers.models import Customer, SubscriptionStatus  # noqa: E402
from helpdesk.db import make_engine  # noqa: E402
from helpdesk.models import metadata  # noqa: E402

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EARLIER_CAMPAIGNS = 3
BATCH = 1000
CHUNK = 20_000


def _campaign(session: Session, name: str, status: CampaignStatus) -> int:
    campaign = Campaign(name=name, subject="News", status=status)
    session.add(campaign)
    session.flush()
    return campaign.id


def _deliveries(session: Session, campaign_id: int, customer_ids: list[int], **values) -> None:
    for start in range(0, len(customer_ids), CHUNK):
        session.execute(
            insert(Delivery),
            [
                {
                    "campaign_id": campaign_id,
                    "customer_id": customer_id,
                    "email": f"reader{customer_id}@bench.example",
                    "token": uuid.uuid4().hex,
                    **values,
                }
                for customer_id in customer_ids[start : start + CHUNK]
            ],
        )
    session.commit()


def make_data(session: Session, customers: int) -> list[int]:
    for start in range(0, customers, CHUNK):
        session.execute(
            insert(Customer),
            [
                {
                    "email": f"reader{n}@bench.example",
                    "name": f"Reader {n}",
                    "subscription_status": SubscriptionStatus.subscribed,
                }
                for n in range(start, min(customers, start + CHUNK))
            ],
        )
    session.commit()
    ids = list(session.scalars(select(Customer.id).order_by(Customer.id)))
    for day in range(1, EARLIER_CAMPAIGNS + 1):
        campaign_id = _campaign(session, f"Earlier {day}", CampaignStatus.sent)
        _deliveries(
            session, campaign_id, ids, state=DeliveryState.sent, sent_at=NOW - timedelta(days=day)
        )
    return ids


def claim_all(session: Session, name: str, customer_ids: list[int]) -> tuple[float, int]:
    """Seconds to claim (and record as sent) a new campaign to everyone; and how many
    deliveries were held back instead."""
    campaign_id = _campaign(session, name, CampaignStatus.sending)
    _deliveries(session, campaign_id, customer_ids)
    started = time.perf_counter()
    while claimed := claim_batch(session, campaign_id, "bench", BATCH, NOW):
        mark_sent(session, "bench", [(i, f"<{i}@bench.example>", NOW) for i in claimed])
        session.commit()
    session.commit()
    seconds = time.perf_counter() - started
    held = session.scalar(
        select(func.count()).where(
            Delivery.campaign_id == campaign_id, Delivery.held_by_cap.is_(True)
        )
    )
    return seconds, held


def _save_cap(session: Session, messages: int) -> None:
    marketing_rules.save_rules(
        session,
        marketing_rules.RulesData(cap_enabled=True, cap_messages=str(messages), cap_days="7"),
    )
    session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--quick", action="store_true", help="2,000 customers")
    args = parser.parse_args()
    if args.quick:
        args.customers = 2_000
    with temporary_postgres_database("bench_cap", args.postgres_url) as url:
        engine = make_engine(url)
        metadata.create_all(engine)
        with Session(engine) as session:
            customer_ids = make_data(session, args.customers)
            no_rules_s, _ = claim_all(session, "No rules", customer_ids)
            _save_cap(session, EARLIER_CAMPAIGNS + 2)
            checked_s, _ = claim_all(session, "Cap checked", customer_ids)
            _save_cap(session, EARLIER_CAMPAIGNS + 1)
            held_s, held = claim_all(session, "Cap reached", customer_ids)
        engine.dispose()
    if held != args.customers:
        raise SystemExit(f"expected every customer held back, got {held}")
    n = args.customers
    print(f"{n} customers, {EARLIER_CAMPAIGNS} earlier campaigns each this week")
    print(f"no rules:     {no_rules_s:.2f} s")
    print(f"cap checked:  {checked_s:.2f} s (all allowed)")
    print(f"cap reached:  {held_s:.2f} s (all deferred)")
    print(
        f"claims_per_s_no_rules={n / no_rules_s:.0f} "
        f"claims_per_s_cap_checked={n / checked_s:.0f} holds_per_s={n / held_s:.0f}"
    )


if __name__ == "__main__":
    main()
