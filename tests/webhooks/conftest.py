"""Fixtures for webhook tests: a real local receiver, an endpoint posting to it, and the
settings that let a delivery reach 127.0.0.1."""

from __future__ import annotations

import pytest

from helpdesk.webhooks import service
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
