"""Two workers claiming for the same customer at once, in two campaigns, on PostgreSQL:
the second waits for the first one's claim and then sees it, so the cap holds."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.campaigns.deliveries import claim_batch
from helpdesk.campaigns.models import Delivery, DeliveryState
from helpdesk.db import make_engine
from tests.factories import make_campaign_in_sending, make_marketing_rules, make_subscribers

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

NOW = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
CAP_1 = {"cap_enabled": True, "cap_messages": "1", "cap_days": "7"}


@pytest.fixture
def worker_sessions(database_url):
    """Sessions on their own connections, as two worker processes would have."""
    engine = make_engine(database_url)
    sessions = [Session(engine), Session(engine)]
    yield sessions
    for worker_session in sessions:
        worker_session.close()
    engine.dispose()


def test_second_claimer_waits_for_the_first_and_defers_past_the_cap(session, worker_sessions):
    make_marketing_rules(session, **CAP_1)
    customers = make_subscribers(session, 5)
    first = make_campaign_in_sending(session, customers, name="First")
    second = make_campaign_in_sending(session, customers, name="Second")
    one, two = worker_sessions

    claimed_first = claim_batch(one, first.id, "worker-1", 10, NOW)
    results: dict[str, list[int]] = {}

    def claim_second():
        results["second"] = claim_batch(two, second.id, "worker-2", 10, NOW)
        two.commit()

    racer = threading.Thread(target=claim_second)
    racer.start()
    racer.join(timeout=1.0)
    assert racer.is_alive(), "the second claim did not wait for the first one's lock"
    one.commit()
    racer.join(timeout=10)

    assert len(claimed_first) == 5
    assert results["second"] == []
    session.expire_all()
    states = Counter(
        session.execute(select(Delivery.campaign_id, Delivery.state, Delivery.held_by_cap)).all()
    )
    assert states == {
        (first.id, DeliveryState.sending, False): 5,
        (second.id, DeliveryState.pending, True): 5,
    }


def test_many_claims_at_once_never_pass_the_cap(session, database_url):
    make_marketing_rules(session, **CAP_1)
    customers = make_subscribers(session, 40)
    campaigns = [
        make_campaign_in_sending(session, customers, name=f"Campaign {n}") for n in range(4)
    ]
    engine = make_engine(database_url)
    start = threading.Barrier(len(campaigns))

    def claim_all(campaign_id: int):
        with Session(engine) as worker:
            start.wait()
            while claim_batch(worker, campaign_id, f"worker-{campaign_id}", 7, NOW):
                worker.commit()
            worker.commit()

    threads = [threading.Thread(target=claim_all, args=(c.id,)) for c in campaigns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    engine.dispose()

    session.expire_all()
    claimed = Counter(
        session.scalars(select(Delivery.customer_id).where(Delivery.state == DeliveryState.sending))
    )
    assert set(claimed) == {c.id for c in customers}
    assert max(claimed.values()) == 1
