"""Bounces and complaints that come back through the inbound pipeline mark the delivery,
suppress the address by the rules, and show on the customer's timeline."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select

from helpdesk.campaigns.models import Delivery, Suppression, SuppressionReason
from helpdesk.campaigns.suppression import apply_delivery_problem
from helpdesk.customers.models import SubscriptionStatus
from helpdesk.customers.timeline import customer_timeline
from helpdesk.mail.models import DeliveryProblem
from tests.factories import make_delivery, make_sending_campaign, make_subscribers
from tests.tickets.mails import SETTINGS, ingest


def dsn(delivery: Delivery, *, status: str, action: str = "failed") -> bytes:
    """A Postfix-style delivery status notification sent to the VERP address."""
    return f"""Return-Path: <>
From: MAILER-DAEMON@mx.example (Mail Delivery System)
To: bounces+{delivery.token}@helpdesk.test
Subject: Undelivered Mail Returned to Sender
Date: Tue, 30 Jan 2024 10:00:02 +0000
Auto-Submitted: auto-replied
Message-ID: <dsn-{delivery.token}-{status}@mx.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example

Final-Recipient: rfc822; {delivery.email}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; {status.replace(".", "")[:1]}50 {status} mailbox problem

--b1--
""".replace("\n", "\r\n").encode()


def unsubscribe_mail(token: str, sender: str) -> bytes:
    """What a mail client sends for the List-Unsubscribe mailto link."""
    return f"""From: {sender}
To: unsubscribe+{token}@helpdesk.test
Subject: unsubscribe
Date: Thu, 01 Feb 2024 11:00:00 +0000
Message-ID: <unsub-{token}@client.example>

unsubscribe
""".replace("\n", "\r\n").encode()


def arf(message_id: str, recipient: str) -> bytes:
    return f"""From: feedback@provider.example
To: abuse@helpdesk.test
Subject: complaint
Date: Thu, 01 Feb 2024 11:00:00 +0000
Message-ID: <arf-{recipient}@provider.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="arf"

--arf
Content-Type: text/plain; charset=us-ascii

This is an abuse report.

--arf
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ExampleFBL/1.0
Version: 1
Original-Rcpt-To: <{recipient}>

--arf
Content-Type: message/rfc822

From: Shop News <news@helpdesk.test>
To: {recipient}
Subject: News
Message-ID: {message_id}

Hello.

--arf--
""".replace("\n", "\r\n").encode()


def _problem(session, raw: bytes) -> DeliveryProblem:
    ingest(session, raw)
    session.commit()
    return session.scalars(select(DeliveryProblem).order_by(DeliveryProblem.id.desc())).first()


def _setup(session):
    customer, _other = make_subscribers(session, 2)
    campaign = make_sending_campaign(session)
    return customer, make_delivery(session, campaign, customer)


def test_hard_bounce_by_verp_marks_the_delivery_and_suppresses_at_once(session):
    customer, delivery = _setup(session)
    _problem(session, dsn(delivery, status="5.1.1"))

    session.refresh(delivery)
    assert delivery.bounce_kind == "hard"
    assert delivery.bounced_at is not None
    suppression = session.get(Suppression, customer.email)
    assert suppression.reason == SuppressionReason.hard_bounce
    assert "5.1.1" in suppression.detail
    titles = [str(entry.title) for entry in customer_timeline(session, customer.id)]
    assert any("hard bounce" in title.lower() for title in titles), titles


def test_soft_bounces_suppress_only_at_the_limit(session):
    customer, delivery = _setup(session)

    for attempt in range(2):
        _problem(session, dsn(delivery, status=f"4.2.{attempt + 1}"))
        assert session.get(Suppression, customer.email) is None

    _problem(session, dsn(delivery, status="4.2.9"))

    session.refresh(delivery)
    assert delivery.bounce_kind == "soft"
    assert session.get(Suppression, customer.email).reason == SuppressionReason.soft_bounces


def test_complaint_marks_the_latest_delivery_to_that_address_and_suppresses(session):
    customer, delivery = _setup(session)
    delivery.message_id = f"<campaign.{delivery.campaign_id}.{delivery.token}@helpdesk.test>"
    session.commit()
    _problem(session, arf(delivery.message_id, customer.email))

    session.refresh(delivery)
    assert delivery.complained_at is not None
    assert session.get(Suppression, customer.email).reason == SuppressionReason.complaint


def test_a_bounce_for_mail_we_did_not_send_changes_no_delivery(session):
    customer, delivery = _setup(session)
    stranger = Delivery(
        campaign_id=delivery.campaign_id,
        customer_id=customer.id,
        email="someone@else.example",
        token="f" * 32,
    )
    problem = _problem(session, dsn(stranger, status="4.2.2"))

    assert apply_delivery_problem(session, problem) is None
    session.commit()
    session.refresh(delivery)
    assert delivery.bounce_kind == ""
    assert session.scalar(select(func.count()).select_from(Suppression)) == 0


def test_the_soft_bounce_limit_comes_from_the_ingest_settings(session):
    customer, delivery = _setup(session)
    ingest(session, dsn(delivery, status="4.2.1"), settings=replace(SETTINGS, soft_bounce_limit=1))
    session.commit()
    assert session.get(Suppression, customer.email).reason == SuppressionReason.soft_bounces


def test_mail_to_the_unsubscribe_address_unsubscribes_the_recipient(session):
    customer, delivery = _setup(session)
    result = ingest(session, unsubscribe_mail(delivery.token, customer.email))
    session.commit()
    session.refresh(customer)
    session.refresh(delivery)
    assert customer.subscription_status == SubscriptionStatus.unsubscribed
    assert delivery.unsubscribed_at is not None
    assert result.ticket_id is None


def test_mail_to_an_unknown_unsubscribe_token_is_ordinary_mail(session):
    customer, _delivery = _setup(session)
    result = ingest(session, unsubscribe_mail("0" * 32, customer.email))
    session.commit()
    session.refresh(customer)
    assert customer.subscription_status == SubscriptionStatus.subscribed
    assert result.ticket_id is not None
