"""Corpus reports through the whole ingest path: a bounce or an auto-reply whose sender has
no usable address is recorded, not quarantined, and no report opens a ticket."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from helpdesk.mail.classify import Kind
from helpdesk.mail.models import DeliveryProblem, DeliveryProblemKind, RawStatus
from helpdesk.tickets.models import Ticket
from tests.mail.bounce_corpus import CORPUS, expectations
from tests.tickets.mails import ingest


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def tickets(session) -> int:
    return session.scalar(select(func.count()).select_from(Ticket))


def test_bounce_from_mailer_daemon_without_domain_is_recorded_not_quarantined(session):
    result = ingest(session, corpus("nosender-from-mailer-daemon-no-domain.eml"))
    assert result.status == RawStatus.bounce
    [problem] = session.scalars(select(DeliveryProblem)).all()
    assert (problem.kind, problem.recipient, problem.status_code) == (
        DeliveryProblemKind.hard_bounce,
        "emma.brown@corp-customer.example",
        "5.1.1",
    )
    assert tickets(session) == 0


def test_bounce_without_any_from_header_is_recorded(session):
    result = ingest(session, corpus("nosender-no-from-header.eml"))
    assert result.status == RawStatus.bounce
    assert session.scalar(select(func.count()).select_from(DeliveryProblem)) == 1
    assert tickets(session) == 0


def test_auto_reply_without_from_is_recorded_as_an_auto_reply(session):
    result = ingest(session, corpus("nosender-auto-reply.eml"))
    assert result.status == RawStatus.auto_reply
    assert tickets(session) == 0


def test_ses_complaint_delivered_by_mail_is_recorded_with_the_original_message_id(session):
    result = ingest(session, corpus("ses-sns-complaint-abuse.eml"))
    assert result.status == RawStatus.complaint
    [problem] = session.scalars(select(DeliveryProblem)).all()
    assert problem.kind == DeliveryProblemKind.complaint
    assert problem.recipient
    assert problem.original_message_id.startswith("campaign.")
    assert tickets(session) == 0


def test_soft_bounce_in_korean_is_recorded_as_soft(session):
    result = ingest(session, corpus("korea-naver-mailbox-full.eml"))
    assert result.status == RawStatus.bounce
    [problem] = session.scalars(select(DeliveryProblem)).all()
    assert (problem.kind, problem.recipient) == (
        DeliveryProblemKind.soft_bounce,
        "choi.yuna@naver.com",
    )


EXPECTED = expectations()
RECEIPTS = [name for name, case in EXPECTED.items() if case.kind == Kind.delivery_receipt]


@pytest.mark.parametrize("name", RECEIPTS)
def test_a_delivery_receipt_is_dropped_without_a_ticket_or_a_bounce(session, name):
    result = ingest(session, corpus(name))

    assert result.status == RawStatus.dropped
    assert result.reason.startswith("delivery receipt for ")
    assert tickets(session) == 0
    assert session.scalar(select(func.count()).select_from(DeliveryProblem)) == 0


def test_a_bounce_for_two_recipients_records_a_problem_for_each(session):
    result = ingest(session, corpus("exim-two-recipients.eml"))

    assert result.status == RawStatus.bounce
    recorded = sorted(session.scalars(select(DeliveryProblem.recipient)))
    assert recorded == sorted(EXPECTED["exim-two-recipients.eml"].recipients)
    assert "and 1 more" in result.reason
