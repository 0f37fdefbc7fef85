"""Events delivered to a real local HTTP receiver: Standard Webhooks signatures, retries
with back-off, ordering per subject, pauses and the delivery log's actions."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select
from standardwebhooks import Webhook

from helpdesk.db import utcnow
from helpdesk.events.service import Subject, record_event
from helpdesk.webhooks import delivery, sender, service
from helpdesk.webhooks.jobs import run_dispatch
from helpdesk.webhooks.models import DeliveryState, PauseReason, WebhookDelivery


def _customer_created(session, customer_id=5, **payload):
    event = record_event(
        session,
        "customer.created",
        Subject("customer", customer_id),
        {"id": customer_id, **payload},
    )
    session.commit()
    return event


def _deliveries(session):
    session.expire_all()
    return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def _deliver_at(session, hook_config, now):
    """One fan-out and delivery round as a dispatch job does it, at a given time."""
    with_time = []
    delivery.fan_out(session, now=now)
    claimed = delivery.claim_due(session, 100, timedelta(seconds=30), now=now)
    session.commit()
    with sender.make_client(hook_config.webhooks_timeout_seconds) as client:
        for item in claimed:
            result = sender.post(
                client,
                item.url,
                item.body.encode(),
                item.headers,
                allow_private=True,
                timeout_seconds=hook_config.webhooks_timeout_seconds,
            )
            with_time.append((item, result))
    delivery.record_results(session, with_time, now=now)
    session.commit()
    return with_time


def test_an_event_arrives_signed_so_that_the_library_verifies_it(
    session, hook_config, receiver, endpoint
):
    event = _customer_created(session, name="Kim Minji")

    run_dispatch(hook_config, slice_seconds=5)

    [got] = receiver.received
    payload = Webhook(endpoint.secret).verify(got.body, got.headers)
    assert payload["type"] == "customer.created"
    assert payload["data"] == {"id": 5, "name": "Kim Minji"}
    assert got.headers["webhook-id"] == event.uid
    assert _deliveries(session)[0].state == DeliveryState.succeeded


def test_an_event_type_the_endpoint_did_not_choose_is_not_sent(
    session, hook_config, receiver, endpoint
):
    record_event(session, "purchase.created", Subject("purchase", 1), {"id": 1})
    session.commit()

    run_dispatch(hook_config, slice_seconds=5)

    assert receiver.received == []
    assert _deliveries(session) == []


def test_a_failed_delivery_is_retried_after_a_500_with_the_same_webhook_id(
    session, hook_config, receiver, endpoint
):
    receiver.answers.extend([500])
    event = _customer_created(session)
    now = utcnow()

    _deliver_at(session, hook_config, now)
    [waiting] = _deliveries(session)
    assert (waiting.state, waiting.attempts, waiting.last_status_code) == (
        DeliveryState.pending,
        1,
        500,
    )
    assert waiting.next_attempt_at == now + delivery.RETRY_DELAYS[0]
    assert _deliver_at(session, hook_config, now + timedelta(seconds=1)) == []

    _deliver_at(session, hook_config, now + delivery.RETRY_DELAYS[0])

    assert receiver.ids() == [event.uid, event.uid]
    assert _deliveries(session)[0].state == DeliveryState.succeeded


def test_a_receiver_that_times_out_gets_the_event_again_later(
    session, hook_config, receiver, endpoint
):
    receiver.answers.extend([3.0])
    _customer_created(session)
    now = utcnow()

    [(_, first)] = _deliver_at(session, hook_config, now)
    _deliver_at(session, hook_config, now + delivery.RETRY_DELAYS[0])

    assert first.error == "timed out"
    assert len(receiver.received) == 2
    assert _deliveries(session)[0].state == DeliveryState.succeeded


def test_a_delivery_is_abandoned_after_the_last_attempt_of_the_schedule(
    session, hook_config, receiver, endpoint
):
    receiver.default = 503
    _customer_created(session)
    now = utcnow()

    for delay in (timedelta(0), *delivery.RETRY_DELAYS):
        now += delay
        _deliver_at(session, hook_config, now)

    [abandoned] = _deliveries(session)
    assert abandoned.state == DeliveryState.abandoned
    assert abandoned.attempts == len(delivery.RETRY_DELAYS) + 1
    assert len(receiver.received) == len(delivery.RETRY_DELAYS) + 1


def test_a_newer_event_of_the_same_subject_waits_for_the_older_one(
    session, hook_config, receiver, endpoint
):
    receiver.answers.extend([500])
    older = _customer_created(session, customer_id=7, name="old")
    newer = _customer_created(session, customer_id=7, name="new")
    other = _customer_created(session, customer_id=8)
    now = utcnow()

    _deliver_at(session, hook_config, now)
    assert receiver.ids() == [older.uid, other.uid]

    _deliver_at(session, hook_config, now + delivery.RETRY_DELAYS[0])

    assert receiver.ids() == [older.uid, other.uid, older.uid]
    _deliver_at(session, hook_config, now + delivery.RETRY_DELAYS[0])
    assert receiver.ids() == [older.uid, other.uid, older.uid, newer.uid]


def test_after_a_rotation_both_the_old_and_the_new_secret_verify(
    session, hook_config, receiver, endpoint
):
    old_secret = endpoint.secret
    rotated = service.rotate_secret(session, endpoint.id)
    session.commit()
    _customer_created(session)

    run_dispatch(hook_config, slice_seconds=5)

    [got] = receiver.received
    assert rotated.secret != old_secret
    assert Webhook(old_secret).verify(got.body, got.headers)
    assert Webhook(rotated.secret).verify(got.body, got.headers)


def test_after_the_grace_period_only_the_new_secret_signs(session, receiver, endpoint):
    now = utcnow()
    rotated = service.rotate_secret(session, endpoint.id, now=now - service.ROTATION_GRACE)
    session.commit()

    assert service.secrets_in_use(rotated, now) == [rotated.secret]


def test_a_paused_endpoint_gets_nothing_until_it_is_resumed(
    session, hook_config, receiver, endpoint
):
    service.pause_endpoint(session, endpoint.id)
    session.commit()
    event = _customer_created(session)

    run_dispatch(hook_config, slice_seconds=5)
    assert receiver.received == []

    service.resume_endpoint(session, endpoint.id)
    session.commit()
    run_dispatch(hook_config, slice_seconds=5)

    assert receiver.ids() == [event.uid]


def test_an_endpoint_failing_for_a_day_is_paused_with_a_notice(
    session, hook_config, receiver, endpoint
):
    receiver.default = 500
    _customer_created(session, customer_id=1)
    start = utcnow()
    _deliver_at(session, hook_config, start)
    _customer_created(session, customer_id=2)

    later = start + delivery.AUTO_PAUSE_AFTER
    _deliver_at(session, hook_config, later)

    session.expire_all()
    paused = service.get_endpoint(session, endpoint.id)
    assert paused.paused_reason == PauseReason.failing
    assert [e.id for e in service.auto_paused_endpoints(session)] == [endpoint.id]


def test_a_success_resets_the_failure_clock(session, hook_config, receiver, endpoint):
    receiver.answers.extend([500])
    _customer_created(session, customer_id=1)
    start = utcnow()
    _deliver_at(session, hook_config, start)
    _customer_created(session, customer_id=2)
    _deliver_at(session, hook_config, start + timedelta(hours=1))
    receiver.default = 500
    _customer_created(session, customer_id=3)

    _deliver_at(session, hook_config, start + delivery.AUTO_PAUSE_AFTER)

    session.expire_all()
    assert service.get_endpoint(session, endpoint.id).paused_reason is None


def test_redeliver_sends_a_delivered_event_again_with_the_same_id(
    session, hook_config, receiver, endpoint
):
    event = _customer_created(session)
    run_dispatch(hook_config, slice_seconds=5)
    [sent] = _deliveries(session)

    service.redeliver(session, endpoint.id, sent.id)
    session.commit()
    run_dispatch(hook_config, slice_seconds=5)

    assert receiver.ids() == [event.uid, event.uid]
    assert len(service.delivery_log(session, endpoint.id)[0].attempts) == 2


def test_a_test_event_goes_to_that_endpoint_only(session, hook_config, receiver, endpoint):
    other = service.create_endpoint(
        session,
        service.EndpointData(receiver.url + "/other", "", ["customer.created"]),
        allow_private=True,
    )
    session.commit()

    service.send_test_event(session, endpoint.id)
    session.commit()
    run_dispatch(hook_config, slice_seconds=5)

    [got] = receiver.received
    assert got.path == "/hook"
    assert json.loads(got.body)["type"] == "webhook.test"
    assert service.delivery_log(session, other.id) == []


def test_an_endpoint_resolving_to_a_private_address_is_refused_at_delivery(
    session, hook_config, receiver, endpoint
):
    _customer_created(session)

    run_dispatch(hook_config.with_overrides(webhooks_allow_private=False), slice_seconds=5)

    assert receiver.received == []
    [refused] = _deliveries(session)
    assert refused.last_error.startswith("refused:")
    assert refused.state == DeliveryState.pending


def test_a_redirect_is_not_followed(session, hook_config, receiver, endpoint):
    receiver.answers.extend([302])
    _customer_created(session)

    run_dispatch(hook_config, slice_seconds=5)

    assert len(receiver.received) == 1
    assert _deliveries(session)[0].last_status_code == 302


def test_fanning_out_twice_creates_each_delivery_once(session, receiver, endpoint):
    _customer_created(session)

    delivery.fan_out(session, after=0)
    session.commit()
    delivery.fan_out(session, after=0)
    session.commit()

    assert len(_deliveries(session)) == 1
