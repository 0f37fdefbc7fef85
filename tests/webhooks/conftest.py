"""Fixtures for webhook tests: a real local receiver, an endpoint posting to it, and the
settings that let a delivery reach 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk.db import utcnow
from helpdesk.events.service import Subject, record_event
from helpdesk.webhooks import service
from helpdesk.webhooks.delivery import AUTO_PAUSE_AFTER
from tests.webhooks.receiver import Receiver


@pytest.fixture
def hook_config(config):
    return config.with_overrides(webhooks_allow_private=True, webhooks_timeout_seconds=1)


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def endpoint(session, receiver):
    endpoint = service.create_endpoint(
        session,
        service.EndpointData(
            url=receiver.url, description="shop", event_types=["customer.created", "ticket.created"]
        ),
        allow_private=True,
    )
    session.commit()
    return endpoint


@pytest.fixture
def failing_endpoint(session, receiver, endpoint):
    """An endpoint whose receiver answers 500 and that has failed for a day already: its
    next failed delivery pauses it."""
    receiver.default = 500
    mark_failing_for_a_day(session, endpoint)
    return endpoint


def mark_failing_for_a_day(session, endpoint) -> None:
    endpoint.failing_since = utcnow() - AUTO_PAUSE_AFTER - timedelta(minutes=1)
    session.commit()


def customer_created(session, customer_id: int = 5):
    event = record_event(
        session, "customer.created", Subject("customer", customer_id), {"id": customer_id}
    )
    session.commit()
    return event
