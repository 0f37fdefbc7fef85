"""Webhooks delivered by worker.py as production runs it (a forking RQ worker in its own
process), killed with SIGKILL in the middle of a POST: the receiver still gets the event,
with the same webhook-id, and never one for a change that rolled back; and a running
worker delivers a new event within seconds of its commit, with no one asking."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from helpdesk.config import Config
from helpdesk.customers.service import CustomerData, create_customer
from helpdesk.db import session_scope
from helpdesk.events.models import Event
from helpdesk.webhooks import service
from helpdesk.webhooks.jobs import notify_on_commit
from tests.processes import fresh_snapshot, kill_worker_and_horse, start_worker, wait_until
from tests.webhooks.receiver import Receiver

LEASE_SECONDS = 2


@pytest.fixture
def hook_worker_env(worker_env, monkeypatch, redis_conn):
    values = {
        "WEBHOOKS_ALLOW_PRIVATE": "1",
        "WEBHOOKS_LEASE_SECONDS": str(LEASE_SECONDS),
        "WEBHOOKS_TIMEOUT_SECONDS": "10",
        "CAMPAIGN_CHECK_SECONDS": "1",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return worker_env | values


def test_a_worker_killed_mid_delivery_leaves_the_event_to_be_delivered_again(
    session, hook_worker_env, tmp_path
):
    with Receiver() as receiver:
        receiver.answers.append(8.0)  # the first POST hangs: the worker is killed meanwhile
        service.create_endpoint(
            session,
            service.EndpointData(receiver.url, "", ["customer.created"]),
            allow_private=True,
        )
        session.commit()
        create_customer(session, CustomerData(email="rolled-back@example.com"))
        session.flush()
        session.rollback()
        create_customer(session, CustomerData(email="kept@example.com"))
        session.commit()
        with fresh_snapshot(session):
            [event] = session.scalars(select(Event)).all()
        log = tmp_path / "worker.log"
        worker = start_worker(log=log)
        try:
            wait_until(lambda: len(receiver.received) >= 1, 30, lambda: log.read_text())
            kill_worker_and_horse(worker)
            worker = start_worker(log=log)
            wait_until(lambda: len(receiver.received) >= 2, 30, lambda: log.read_text())
        finally:
            kill_worker_and_horse(worker)

        assert set(receiver.ids()) == {event.uid}
        assert b"kept@example.com" in receiver.received[-1].body


def test_a_running_worker_delivers_a_new_event_within_seconds(session, hook_worker_env, tmp_path):
    with Receiver() as receiver:
        service.create_endpoint(
            session,
            service.EndpointData(receiver.url, "", ["customer.created"]),
            allow_private=True,
        )
        session.commit()
        log = tmp_path / "worker.log"
        worker = start_worker(log=log)
        try:
            wait_until(lambda: "Listening on" in log.read_text(), 30, lambda: log.read_text())
            time.sleep(1)  # the start-up dispatch has run
            notify_on_commit(Config.from_env())
            # A writing session (BEGIN IMMEDIATE on SQLite), as the web app's requests use.
            with session_scope() as writer:
                create_customer(writer, CustomerData(email="new@example.com"))
            committed = time.monotonic()
            wait_until(lambda: receiver.received, 10, lambda: log.read_text())
            took = time.monotonic() - committed
        finally:
            kill_worker_and_horse(worker)

        assert took < 3, f"{took:.1f} s from commit to delivery"
