"""Campaigns sent by worker.py as production runs it: forking RQ workers in their own
processes, several time slices, pauses, stops and kills."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from rq import Queue
from rq.registry import FailedJobRegistry, FinishedJobRegistry
from sqlalchemy import func, select

from helpdesk.campaigns import jobs
from helpdesk.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState
from helpdesk.campaigns.sending import pause_campaign, resume_campaign, start_sending
from helpdesk.db import utcnow
from helpdesk.queue import CAMPAIGN_QUEUE
from tests.factories import make_sending_campaign, make_subscribers
from tests.processes import (
    alive,
    descendants,
    fresh_snapshot,
    horses,
    kill_worker_and_horse,
    start_worker,
    wait_until,
)

# Long enough that a live worker slowed down by a busy machine is never taken for dead
# (that would cost an uncertain recipient); the kill test shortens it to see recovery.
LEASE_SECONDS = 60
KILL_TEST_LEASE_SECONDS = 5


@pytest.fixture
def topology_env(worker_env, monkeypatch):
    """Short slices, leases and checks, so that a test sees several of each."""
    values = {
        "CAMPAIGN_BATCH_SIZE": "20",
        "CAMPAIGN_SLICE_SECONDS": "1",
        "CAMPAIGN_LEASE_SECONDS": str(LEASE_SECONDS),
        "CAMPAIGN_CHECK_SECONDS": "1",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return worker_env | values


class Workers:
    """Worker processes a test starts, logging into one file; all killed at the end."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.started: list[subprocess.Popen] = []

    def start(self, *args: str) -> subprocess.Popen:
        self.started.append(start_worker(*args, log=self.log))
        return self.started[-1]

    def finish(self, worker: subprocess.Popen, timeout: float = 120) -> None:
        assert worker.wait(timeout=timeout) == 0, self.output()

    def output(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(line for line in lines if "cleaning" not in line)[-6000:]


@pytest.fixture
def workers(tmp_path):
    workers = Workers(tmp_path / "workers.log")
    yield workers
    for worker in workers.started:
        if worker.poll() is None:
            kill_worker_and_horse(worker)


def _start_campaign(session, config, recipients: int) -> Campaign:
    make_subscribers(session, recipients)
    campaign = make_sending_campaign(session)
    start_sending(session, campaign.id, utcnow(), enqueue_jobs=jobs.enqueuer(config))
    return campaign


def _states(session, campaign_id) -> Counter:
    query = (
        select(Delivery.state, func.count())
        .where(Delivery.campaign_id == campaign_id)
        .group_by(Delivery.state)
    )
    with fresh_snapshot(session):
        return Counter(dict(session.execute(query).all()))


def _status(session, campaign_id) -> CampaignStatus:
    with fresh_snapshot(session):
        return session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))


def test_a_campaign_of_many_slices_reaches_everyone_exactly_once(
    session, config, redis_conn, topology_env, smtp_handler, workers
):
    smtp_handler.delay = 0.01
    campaign = _start_campaign(session, config, 300)

    for worker in [workers.start("--burst") for _ in range(2)]:
        workers.finish(worker)

    copies = smtp_handler.recipients()
    assert len(copies) == 300 and set(copies.values()) == {1}
    assert _states(session, campaign.id) == Counter({DeliveryState.sent: 300})
    assert _status(session, campaign.id) == CampaignStatus.sent
    queue = Queue(CAMPAIGN_QUEUE, connection=redis_conn)
    assert FailedJobRegistry(queue=queue).get_job_ids() == []
    assert len(FinishedJobRegistry(queue=queue).get_job_ids()) > 2  # slices after the first


def test_a_campaign_paused_while_workers_send_it_finishes_after_resume(
    session, config, redis_conn, topology_env, smtp_handler, workers
):
    smtp_handler.delay = 0.01
    # The id, not the object: after a fresh snapshot, reading an attribute would reload it
    # in a read transaction, and on SQLite the pause's write from there would be refused.
    campaign_id = _start_campaign(session, config, 200).id
    workers.start()
    wait_until(lambda: len(smtp_handler.received) >= 40, timeout=60)

    pause_campaign(session, campaign_id, utcnow(), paused_by="Mia")
    session.commit()
    wait_until(lambda: DeliveryState.sending not in _states(session, campaign_id), timeout=30)
    received_while_paused = len(smtp_handler.received)
    time.sleep(1.5)
    assert len(smtp_handler.received) == received_while_paused < 200

    resume_campaign(session, campaign_id, utcnow(), enqueue_jobs=jobs.enqueuer(config))
    wait_until(
        lambda: _status(session, campaign_id) == CampaignStatus.sent,
        timeout=120,
        explain=workers.output,
    )

    copies = smtp_handler.recipients()
    assert len(copies) == 200 and set(copies.values()) == {1}


def _a_worker_in_the_middle_of_a_campaign(session, config, smtp_handler, workers):
    """A campaign to 150 recipients, 20 of them reached by a worker whose horse is sending
    the rest: (campaign, worker, horse pid)."""
    smtp_handler.delay = 0.02
    campaign = _start_campaign(session, config, 150)
    worker = workers.start()
    found: list[int] = []

    def sending_with_a_horse() -> bool:
        found[:] = horses(worker.pid)
        return len(smtp_handler.received) >= 20 and bool(found)

    wait_until(sending_with_a_horse, timeout=60)
    return campaign, worker, found[0]


def test_sigterm_stops_the_worker_after_the_message_in_hand_and_puts_the_rest_back(
    session, config, redis_conn, topology_env, smtp_handler, workers
):
    campaign, worker, horse = _a_worker_in_the_middle_of_a_campaign(
        session, config, smtp_handler, workers
    )

    worker.send_signal(signal.SIGTERM)
    workers.finish(worker, timeout=30)

    assert not alive(horse)
    states = _states(session, campaign.id)
    assert states[DeliveryState.sending] == states[DeliveryState.uncertain] == 0
    assert 0 < states[DeliveryState.pending] < 150
    workers.finish(workers.start("--burst"))
    copies = smtp_handler.recipients()
    assert len(copies) == 150 and set(copies.values()) == {1}
    assert _status(session, campaign.id) == CampaignStatus.sent


def test_a_horse_whose_worker_is_killed_stops_instead_of_sending_on(
    session, config, redis_conn, topology_env, smtp_handler, workers
):
    campaign, worker, horse = _a_worker_in_the_middle_of_a_campaign(
        session, config, smtp_handler, workers
    )

    os.killpg(worker.pid, signal.SIGKILL)  # the worker's group: not the horse's
    worker.wait(timeout=10)

    wait_until(lambda: not alive(horse), timeout=10, explain=lambda: "the horse lived on")
    states = _states(session, campaign.id)
    assert states[DeliveryState.sending] == states[DeliveryState.uncertain] == 0
    received = len(smtp_handler.received)
    time.sleep(1)
    assert len(smtp_handler.received) == received < 150


def test_workers_killed_at_random_moments_cost_at_most_one_uncertain_recipient_per_kill(
    session, config, redis_conn, topology_env, smtp_handler, workers, monkeypatch
):
    monkeypatch.setenv("CAMPAIGN_LEASE_SECONDS", str(KILL_TEST_LEASE_SECONDS))
    recipients, kills = 250, 5
    smtp_handler.delay = 0.01
    campaign = _start_campaign(session, config, recipients)
    rng = random.Random(os.environ.get("PYTEST_XDIST_WORKER", "seed"))
    for _ in range(kills):
        worker = workers.start()
        target = len(smtp_handler.received) + rng.randint(5, 30)
        wait_until(lambda t=target: len(smtp_handler.received) >= t, timeout=120)
        time.sleep(rng.uniform(0, 0.05))
        kill_worker_and_horse(worker)
        assert not descendants(worker.pid)

    # No restart from here on: the last worker recovers what the killed ones left once
    # their lease is over, and finishes the campaign by itself.
    workers.start()
    wait_until(
        lambda: _status(session, campaign.id) == CampaignStatus.sent,
        timeout=120,
        explain=lambda: f"still sending: {_states(session, campaign.id)}\n{workers.output()}",
    )

    copies = smtp_handler.recipients()
    assert max(copies.values()) == 1
    states = _states(session, campaign.id)
    assert set(states) <= {DeliveryState.sent, DeliveryState.uncertain}
    assert sum(states.values()) == recipients
    assert states[DeliveryState.uncertain] <= kills
    for delivery in session.scalars(select(Delivery).where(Delivery.campaign_id == campaign.id)):
        if delivery.state == DeliveryState.sent:
            assert copies[delivery.email] == 1
