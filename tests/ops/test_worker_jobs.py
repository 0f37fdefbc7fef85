"""Every kind of job, run by one forking worker.py after the jobs before it: each work horse
opens its own database connections, so a campaign's many statements never break the
ticket reply, acknowledgement, tracking flush or import that follows it."""

from __future__ import annotations

import io
import signal
from urllib.parse import urlsplit

from sqlalchemy import func, select

from helpdesk.campaigns import jobs as campaign_jobs
from helpdesk.campaigns.models import Campaign, CampaignStatus, Delivery
from helpdesk.campaigns.sending import start_sending
from helpdesk.campaigns.tracking import tracking_urls
from helpdesk.customers.models import Customer, ImportJob, ImportStatus
from helpdesk.db import database, utcnow
from helpdesk.inbound.ingest import queue_after_ingest
from helpdesk.tickets.models import Message, MessageKind, SendStatus
from tests.factories import make_mailbox, make_sending_campaign, make_subscribers
from tests.helpers import post_form
from tests.processes import alive, descendants, fresh_snapshot, start_worker, wait_until
from tests.tickets.mails import ingest, mail


def _fresh(session, query):
    with fresh_snapshot(session):
        return session.scalar(query)


def _send_status(session, kind: MessageKind):
    return _fresh(session, select(Message.send_status).where(Message.kind == kind))


def test_one_forking_worker_runs_every_kind_of_job_after_the_ones_before(
    session, config, agent_client, redis_conn, worker_env, smtp_handler, tmp_path
):
    log = tmp_path / "worker.log"
    worker = start_worker(log=log)
    try:
        _campaign_is_sent(session, config)
        _reply_and_acknowledgement_are_sent(session, config, agent_client, smtp_handler)
        _open_is_counted(session, agent_client)
        _import_is_done(session, agent_client, tmp_path)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{log.read_text(errors='replace')[-4000:]}") from None
    finally:
        family = descendants(worker.pid)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert not [pid for pid in family if alive(pid)]


def _campaign_is_sent(session, config) -> None:
    make_subscribers(session, 60)
    campaign = make_sending_campaign(session)
    start_sending(session, campaign.id, utcnow(), enqueue_jobs=campaign_jobs.enqueuer(config))
    status = select(Campaign.status).where(Campaign.id == campaign.id)
    wait_until(lambda: _fresh(session, status) == CampaignStatus.sent, timeout=60)


def _reply_and_acknowledgement_are_sent(session, config, agent_client, smtp_handler) -> None:
    mailbox = make_mailbox(session, address="help@helpdesk.test", send_acknowledgement=True)
    # Ingest as the gateway does, in a writing session (BEGIN IMMEDIATE): the test's own
    # session reads first and, on SQLite, could not write after the worker has.
    with database.session() as writer:
        first = ingest(writer, mail(to="help@helpdesk.test"), mailbox=mailbox)
    queue_after_ingest(config, [first])
    response = post_form(
        agent_client,
        f"/tickets/{first.ticket_id}/replies",
        {"body": "It left our warehouse today.", "seen_message_id": str(first.message_id)},
    )
    assert response.status_code == 302
    for kind in (MessageKind.acknowledgement, MessageKind.reply):
        wait_until(lambda k=kind: _send_status(session, k) == SendStatus.sent, timeout=60)
    assert smtp_handler.recipients()["minji@example.com"] == 2


def _open_is_counted(session, agent_client) -> None:
    delivery_id = _fresh(session, select(func.min(Delivery.id)))
    token = _fresh(session, select(Delivery.token).where(Delivery.id == delivery_id))
    urls = tracking_urls("http://helpdesk.test", "test-secret-key", token, None)
    assert agent_client.get(urlsplit(urls.open_url).path).status_code == 200
    opens = select(Delivery.open_count + Delivery.machine_open_count).where(
        Delivery.id == delivery_id
    )
    wait_until(lambda: _fresh(session, opens) == 1, timeout=60)


def _import_is_done(session, agent_client, tmp_path) -> None:
    rows = "".join(f"imported{n}@example.com,Imported {n}\n" for n in range(20))
    response = post_form(
        agent_client,
        "/customers/import",
        {"kind": "customers", "file": (io.BytesIO(f"email,name\n{rows}".encode()), "c.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.data[:500]
    import_id = int(response.headers["Location"].split("/")[-2])
    post_form(agent_client, f"/customers/import/{import_id}/start")
    status = select(ImportJob.status).where(ImportJob.id == import_id)
    wait_until(lambda: _fresh(session, status) == ImportStatus.done, timeout=60)
    imported = select(func.count()).where(Customer.email.like("imported%"))
    assert _fresh(session, imported) == 20
