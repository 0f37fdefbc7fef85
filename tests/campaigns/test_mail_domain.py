"""Campaign mail from a site reached by IP address: the Message-ID, the VERP return path
and the List-Unsubscribe mailto name a domain literal (or MAIL_DOMAIN), and what comes
back to them, in that form or the bare one of earlier mail, finds its delivery."""

from __future__ import annotations

import smtplib
from email.headerregistry import Address
from email.utils import make_msgid, parseaddr

import pytest
from sqlalchemy import select

from helpdesk.campaigns import jobs
from helpdesk.campaigns.models import Delivery, Suppression, SuppressionReason
from helpdesk.campaigns.sending import start_sending
from helpdesk.customers.models import SubscriptionStatus
from helpdesk.db import utcnow
from helpdesk.inbound.gateway import make_gateway
from tests.campaigns.sending_support import run_campaign_jobs
from tests.conftest import free_port
from tests.factories import make_delivery, make_sending_campaign, make_subscribers
from tests.tickets.mails import SETTINGS, ingest


def send_one(session, config, redis_conn):
    """One campaign to one subscriber, through the worker's job and a real SMTP server."""
    (customer,) = make_subscribers(session, 1)
    campaign = make_sending_campaign(session)
    start_sending(session, campaign.id, utcnow(), enqueue_jobs=jobs.enqueuer(config))
    run_campaign_jobs(redis_conn)
    delivery = session.scalars(select(Delivery).where(Delivery.campaign_id == campaign.id)).one()
    session.commit()
    return campaign, delivery


def domain_of(addr_spec: str) -> str:
    """The domain of an address as the email package reads it; refuses an invalid one."""
    address = Address(addr_spec=addr_spec)
    assert parseaddr(addr_spec) == ("", addr_spec)
    return address.domain


def test_a_site_reached_by_ip_sends_ids_and_return_addresses_with_a_domain_literal(
    session, config, redis_conn, worker_env, smtp_handler, monkeypatch
):
    monkeypatch.setenv("PUBLIC_URL", "http://127.0.0.1:5000")

    campaign, delivery = send_one(session, config, redis_conn)

    (received,) = smtp_handler.received
    message = received.message
    assert received.mail_from == f"bounces+{delivery.token}@[127.0.0.1]"
    assert domain_of(received.mail_from) == "[127.0.0.1]"
    message_id = message["Message-ID"]
    assert message_id == delivery.message_id
    assert message_id == f"<campaign.{campaign.id}.{delivery.token}@[127.0.0.1]>"
    assert message_id.defects == ()
    assert domain_of(message_id.strip("<>")) == "[127.0.0.1]"
    assert (
        f"<mailto:unsubscribe+{delivery.token}@[127.0.0.1]?subject=unsubscribe>"
        in (message["List-Unsubscribe"])
    )
    assert "<http://127.0.0.1:5000/u/" in message["List-Unsubscribe"]


def test_a_configured_mail_domain_is_used_although_public_url_is_an_ip(
    session, config, redis_conn, worker_env, smtp_handler, monkeypatch
):
    monkeypatch.setenv("PUBLIC_URL", "http://127.0.0.1:5000")
    monkeypatch.setenv("MAIL_DOMAIN", "Mail.Example.com")

    campaign, delivery = send_one(session, config, redis_conn)

    (received,) = smtp_handler.received
    message = received.message
    assert received.mail_from == f"bounces+{delivery.token}@mail.example.com"
    assert message["Message-ID"] == f"<campaign.{campaign.id}.{delivery.token}@mail.example.com>"
    assert (
        f"<mailto:unsubscribe+{delivery.token}@mail.example.com?" in (message["List-Unsubscribe"])
    )
    assert "<http://127.0.0.1:5000/u/" in message["List-Unsubscribe"]


def dsn(*, to: str, final_recipient: str, original_message_id: str) -> bytes:
    """A hard-bounce report that quotes the returned message's headers."""
    return f"""Return-Path: <>
From: MAILER-DAEMON@mx.example (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Date: Tue, 30 Jan 2024 10:00:02 +0000
Auto-Submitted: auto-replied
Message-ID: {make_msgid(domain="mx.example")}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example

Final-Recipient: rfc822; {final_recipient}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 mailbox unknown

--b1
Content-Type: text/rfc822-headers

From: Shop News <news@helpdesk.test>
To: {final_recipient}
Subject: News
Message-ID: {original_message_id}

--b1--
""".replace("\n", "\r\n").encode()


@pytest.fixture
def sent(session):
    """A delivery sent from a site reached by IP address, with the Message-ID it carried."""
    customer, _other = make_subscribers(session, 2)
    campaign = make_sending_campaign(session)
    delivery = make_delivery(session, campaign, customer)
    delivery.message_id = f"<campaign.{campaign.id}.{delivery.token}@[127.0.0.1]>"
    session.commit()
    return customer, delivery


def assert_hard_bounced(session, customer, delivery) -> None:
    session.expire_all()
    assert session.get(Delivery, delivery.id).bounce_kind == "hard"
    assert session.get(Suppression, customer.email).reason == SuppressionReason.hard_bounce
    session.commit()


@pytest.mark.parametrize("domain", ["[127.0.0.1]", "127.0.0.1"])
def test_a_bounce_to_the_verp_address_finds_its_delivery(session, sent, domain):
    customer, delivery = sent

    ingest(
        session,
        dsn(
            to=f"bounces+{delivery.token}@{domain}",
            final_recipient=customer.email,
            original_message_id="<unrelated@mx.example>",
        ),
        settings=SETTINGS,
    )
    session.commit()

    assert_hard_bounced(session, customer, delivery)


def test_a_bounce_quoting_a_domain_literal_message_id_finds_its_delivery(session, sent):
    customer, delivery = sent

    ingest(
        session,
        dsn(
            to="postmaster@helpdesk.test",
            final_recipient=customer.email,
            original_message_id=delivery.message_id,
        ),
    )
    session.commit()

    assert_hard_bounced(session, customer, delivery)


def test_a_bounce_quoting_a_bare_ip_message_id_of_earlier_mail_finds_its_delivery(session):
    customer, _other = make_subscribers(session, 2)
    campaign = make_sending_campaign(session)
    delivery = make_delivery(session, campaign, customer)
    delivery.message_id = f"<campaign.{campaign.id}.{delivery.token}@127.0.0.1>"
    session.commit()

    ingest(
        session,
        dsn(
            to="postmaster@helpdesk.test",
            final_recipient=customer.email,
            original_message_id=delivery.message_id,
        ),
    )
    session.commit()

    assert_hard_bounced(session, customer, delivery)


@pytest.mark.parametrize("domain", ["[127.0.0.1]", "127.0.0.1"])
def test_mail_to_the_unsubscribe_mailto_address_unsubscribes(session, sent, domain):
    customer, delivery = sent
    raw = f"""From: {customer.email}
To: unsubscribe+{delivery.token}@{domain}
Subject: unsubscribe
Date: Thu, 01 Feb 2024 11:00:00 +0000
Message-ID: <unsub-{delivery.token}@client.example>

unsubscribe
""".replace("\n", "\r\n").encode()

    result = ingest(session, raw)
    session.commit()

    session.expire_all()
    assert result.ticket_id is None
    assert session.get(Delivery, delivery.id).unsubscribed_at is not None
    assert session.get(type(customer), customer.id).subscription_status == (
        SubscriptionStatus.unsubscribed
    )
    session.commit()


def test_a_bounce_through_the_gateway_to_a_domain_literal_finds_its_delivery(
    session, app, config, sent
):
    customer, delivery = sent
    verp = f"bounces+{delivery.token}@[127.0.0.1]"
    gateway = make_gateway(
        config.with_overrides(public_url="http://127.0.0.1:5000"), port=free_port()
    )
    gateway.start()
    try:
        with smtplib.SMTP(gateway.hostname, gateway.port, timeout=30) as client:
            refused = client.sendmail(
                "",
                [verp],
                dsn(
                    to=verp,
                    final_recipient=customer.email,
                    original_message_id=delivery.message_id,
                ),
            )
    finally:
        gateway.stop()

    assert refused == {}
    assert_hard_bounced(session, customer, delivery)
