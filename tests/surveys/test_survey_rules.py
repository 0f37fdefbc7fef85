"""Which resolved tickets get a survey, and the claim that lets only one be sent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from helpdesk.customers.models import Tag
from helpdesk.mail.models import (
    DeliveryProblem,
    DeliveryProblemKind,
    RawMessage,
    RawSource,
    RawStatus,
)
from helpdesk.surveys import service
from helpdesk.surveys.models import SkipReason, Survey, SurveyState
from helpdesk.tickets.models import MessageKind, TicketStatus
from tests.factories import make_message, make_ticket
from tests.surveys.support import NOW, make_resolved_ticket, make_survey_mailbox


def _claim(session, ticket):
    survey = service.claim_survey(session, ticket.id, NOW)
    session.commit()
    return survey


def test_ticket_resolved_longer_than_the_delay_ago_is_due(session, survey_mailbox):
    ticket = make_resolved_ticket(session, survey_mailbox, resolved_ago=timedelta(minutes=61))

    assert service.due_ticket_ids(session, NOW) == [ticket.id]


def test_ticket_resolved_within_the_delay_is_not_due_yet(session, survey_mailbox):
    make_resolved_ticket(session, survey_mailbox, resolved_ago=timedelta(minutes=59))

    assert service.due_ticket_ids(session, NOW) == []


def test_ticket_reopened_before_the_delay_passed_gets_no_survey(session, survey_mailbox):
    ticket = make_resolved_ticket(session, survey_mailbox)
    ticket.status, ticket.resolved_at = TicketStatus.open, None
    session.commit()

    assert service.due_ticket_ids(session, NOW) == []
    assert _claim(session, ticket) is None


def test_closed_ticket_is_due_like_a_resolved_one(session, survey_mailbox):
    ticket = make_resolved_ticket(session, survey_mailbox, status=TicketStatus.closed)

    assert service.due_ticket_ids(session, NOW) == [ticket.id]


def test_mailbox_with_the_survey_off_sends_none(session):
    mailbox = make_survey_mailbox(session, enabled=False)
    make_resolved_ticket(session, mailbox)

    assert service.due_ticket_ids(session, NOW) == []


def test_tickets_resolved_before_the_survey_was_switched_on_get_none(session):
    mailbox = make_survey_mailbox(session, enabled_at=NOW - timedelta(hours=1))
    make_resolved_ticket(session, mailbox, resolved_ago=timedelta(hours=3))

    assert service.due_ticket_ids(session, NOW) == []


def test_claim_makes_a_survey_to_send_for_the_assignee(session, survey_mailbox, agent):
    ticket = make_resolved_ticket(session, survey_mailbox, assignee_id=agent.id)

    survey = _claim(session, ticket)

    assert (survey.state, survey.skip_reason, survey.agent_id) == (
        SurveyState.sending,
        None,
        agent.id,
    )


def test_a_ticket_is_claimed_once_and_then_no_longer_due(session, survey_mailbox):
    ticket = make_resolved_ticket(session, survey_mailbox)

    first, second = _claim(session, ticket), _claim(session, ticket)

    assert first is not None and second is None
    assert session.scalar(select(func.count(Survey.id))) == 1
    assert service.due_ticket_ids(session, NOW) == []


def test_merged_ticket_is_skipped(session, survey_mailbox):
    target = make_ticket(session, customer_email="kim@example.com")
    ticket = make_resolved_ticket(session, survey_mailbox, merged_into_id=target.id)

    assert _claim(session, ticket).skip_reason == SkipReason.merged


def test_ticket_tagged_spam_is_skipped(session, survey_mailbox):
    ticket = make_resolved_ticket(session, survey_mailbox)
    ticket.tags.append(Tag(name="Spam"))
    session.commit()

    assert _claim(session, ticket).skip_reason == SkipReason.spam


def test_ticket_tagged_duplicate_is_skipped(session, survey_mailbox):
    ticket = make_resolved_ticket(session, survey_mailbox)
    ticket.tags.append(Tag(name="duplicate"))
    session.commit()

    assert _claim(session, ticket).skip_reason == SkipReason.duplicate


def test_ticket_whose_last_mail_was_an_auto_reply_is_skipped(session, survey_mailbox):
    ticket = make_resolved_ticket(session, survey_mailbox)
    make_message(
        session, ticket, kind=MessageKind.auto_reply, created_at=NOW - timedelta(minutes=90)
    )

    assert _claim(session, ticket).skip_reason == SkipReason.auto_reply


def test_ticket_whose_last_mail_was_a_bounce_is_skipped(session, survey_mailbox):
    ticket = make_resolved_ticket(session, survey_mailbox)
    session.add(
        RawMessage(
            mailbox_id=survey_mailbox.id,
            source=RawSource.imap,
            sha256="0" * 64,
            size=1,
            content=b"x",
            status=RawStatus.bounce,
            ticket_id=ticket.id,
            received_at=NOW - timedelta(minutes=90),
        )
    )
    session.commit()

    assert _claim(session, ticket).skip_reason == SkipReason.bounce


def test_customer_whose_address_bounced_hard_is_skipped(session, survey_mailbox):
    ticket = make_resolved_ticket(session, survey_mailbox)
    raw = RawMessage(source=RawSource.imap, sha256="1" * 64, size=1, content=b"x")
    session.add(raw)
    session.flush()
    session.add(
        DeliveryProblem(
            raw_message_id=raw.id,
            customer_id=ticket.customer_id,
            kind=DeliveryProblemKind.hard_bounce,
        )
    )
    session.commit()

    assert _claim(session, ticket).skip_reason == SkipReason.bounce


def test_customer_surveyed_within_the_quiet_period_is_skipped(session, survey_mailbox):
    first = make_resolved_ticket(session, survey_mailbox, resolved_ago=timedelta(hours=3))
    second = make_resolved_ticket(session, survey_mailbox)
    _claim(session, first)

    assert _claim(session, second).skip_reason == SkipReason.recently_surveyed


def test_customer_surveyed_before_the_quiet_period_is_asked_again(session):
    mailbox = make_survey_mailbox(session, quiet_days=7, enabled_at=NOW - timedelta(days=30))
    earlier = make_resolved_ticket(session, mailbox, resolved_ago=timedelta(days=9))
    old = service.claim_survey(session, earlier.id, NOW - timedelta(days=8))
    session.commit()
    ticket = make_resolved_ticket(session, mailbox)

    assert old.state == SurveyState.sending
    assert _claim(session, ticket).state == SurveyState.sending


def test_skipped_survey_does_not_count_as_surveyed(session, survey_mailbox):
    spam = make_resolved_ticket(session, survey_mailbox, resolved_ago=timedelta(hours=3))
    spam.tags.append(Tag(name="spam"))
    session.commit()
    _claim(session, spam)
    ticket = make_resolved_ticket(session, survey_mailbox)

    assert _claim(session, ticket).state == SurveyState.sending
