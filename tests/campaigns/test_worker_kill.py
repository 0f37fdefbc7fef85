"""A worker killed with SIGKILL mid-campaign: nobody gets two copies, nobody is forgotten."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

from sqlalchemy import select

from helpdesk.campaigns import jobs
from helpdesk.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState
from helpdesk.campaigns.sending import start_sending
from helpdesk.config import PROJECT_ROOT
from helpdesk.db import utcnow
from tests.factories import make_sending_campaign, make_subscribers

RECIPIENTS = 150
BATCH = 10
LEASE_SECONDS = 2


def _start_worker(*args: str) -> subprocess.Popen:
    # Its own process group, so the kill takes the work horse RQ forks per job too, as
    # when a machine dies.
    return subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "worker.py"), *args],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _wait_until(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_killed_worker_causes_no_second_copy_and_every_recipient_has_an_outcome(
    session, config, redis_conn, worker_env, smtp_handler, monkeypatch
):
    monkeypatch.setenv("CAMPAIGN_BATCH_SIZE", str(BATCH))
    monkeypatch.setenv("CAMPAIGN_LEASE_SECONDS", str(LEASE_SECONDS))
    smtp_handler.delay = 0.02
    make_subscribers(session, RECIPIENTS)
    campaign = make_sending_campaign(session)
    start_sending(session, campaign.id, utcnow(), enqueue_jobs=jobs.enqueuer(config))

    worker = _start_worker()
    try:
        _wait_until(lambda: len(smtp_handler.received) >= 40, timeout=120)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    received_before_restart = len(smtp_handler.received)
    assert received_before_restart < RECIPIENTS

    time.sleep(LEASE_SECONDS + 0.5)
    restarted = _start_worker("--burst")
    _, stderr = restarted.communicate(timeout=300)
    assert restarted.returncode == 0, stderr.decode()[-2000:]

    copies = smtp_handler.recipients()
    assert max(copies.values()) == 1
    session.expire_all()
    deliveries = list(session.scalars(select(Delivery).where(Delivery.campaign_id == campaign.id)))
    states = Counter(d.state for d in deliveries)
    assert set(states) <= {DeliveryState.sent, DeliveryState.uncertain}
    assert sum(states.values()) == RECIPIENTS
    assert states[DeliveryState.uncertain] <= BATCH
    for delivery in deliveries:
        if delivery.state == DeliveryState.sent:
            assert copies[delivery.email] == 1
        else:
            assert "worker sending this message stopped" in delivery.last_error
    assert session.get(Campaign, campaign.id).status == CampaignStatus.sent
