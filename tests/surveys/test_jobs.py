"""The worker's survey check: it mails each due survey once, through the SMTP relay,
with one signed link per rating."""

from __future__ import annotations

import re
import threading

from sqlalchemy import select

from helpdesk.db import utcnow
from helpdesk.mail.models import Mailbox
from helpdesk.surveys import jobs, service
from helpdesk.surveys.models import Survey, SurveyState
from helpdesk.tickets.models import Ticket, TicketStatus
from tests.surveys.support import make_resolved_ticket, make_survey_mailbox

LINK = re.compile(r"https?://\S+/s/(\S+)\?rating=(good|ok|bad)")


def _setup(session, mailbox=None, **ticket_overrides):
    now = utcnow()
    mailbox = mailbox or make_survey_mailbox(session, now=now)
    return make_resolved_ticket(session, mailbox, now=now, **ticket_overrides)


def _states(session):
    session.rollback()
    return session.execute(select(Survey.ticket_id, Survey.state).order_by(Survey.id)).all()


def test_check_mails_the_survey_to_the_customer(session, config, smtp_sink, smtp_handler):
    ticket = _setup(session)

    sent = jobs.send_due_surveys(config.with_overrides(smtp_url=smtp_sink.url))

    assert sent == 1
    [received] = smtp_handler.received
    message = received.message
    assert received.rcpt_tos == ["kim@example.com"]
    assert message["From"].addresses[0].addr_spec == "support@helpdesk.test"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Subject"].startswith(f"[#{ticket.id}] How did we do?")
    text = message.get_body(("plain",)).get_content()
    assert "저희 지원은 어떠셨나요?" in text
    assert [rating for _signed, rating in LINK.findall(text)] == ["good", "ok", "bad"]
    assert _states(session) == [(ticket.id, SurveyState.sent)]


def test_the_mailed_link_names_the_survey(session, config, smtp_sink, smtp_handler):
    _setup(session)
    jobs.send_due_surveys(config.with_overrides(smtp_url=smtp_sink.url))
    text = smtp_handler.received[0].message.get_body(("plain",)).get_content()
    signed, _rating = LINK.findall(text)[0]

    survey = service.survey_of_link(session, config.secret_key, signed)

    assert survey.state == SurveyState.sent


def test_a_second_check_sends_nothing_more(session, config, smtp_sink, smtp_handler):
    _setup(session)
    relay = config.with_overrides(smtp_url=smtp_sink.url)
    jobs.send_due_surveys(relay)

    assert jobs.send_due_surveys(relay) == 0
    assert len(smtp_handler.received) == 1


def test_two_checks_at_once_send_one_survey(session, config, smtp_sink, smtp_handler):
    _setup(session)
    relay = config.with_overrides(smtp_url=smtp_sink.url)
    threads = [threading.Thread(target=jobs.send_due_surveys, args=(relay,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(smtp_handler.received) == 1


def test_a_survey_left_in_sending_by_a_dead_worker_is_not_sent_again(
    session, config, smtp_sink, smtp_handler
):
    ticket = _setup(session)
    service.claim_survey(session, ticket.id, utcnow())
    session.commit()

    assert jobs.send_due_surveys(config.with_overrides(smtp_url=smtp_sink.url)) == 0
    assert smtp_handler.received == []
    assert _states(session) == [(ticket.id, SurveyState.sending)]


def test_a_refused_send_is_marked_failed(session, config, smtp_sink, smtp_handler):
    ticket = _setup(session)
    smtp_handler.on_rcpt = lambda address: "550 no such user"

    assert jobs.send_due_surveys(config.with_overrides(smtp_url=smtp_sink.url)) == 0
    assert _states(session) == [(ticket.id, SurveyState.failed)]


def test_a_skipped_ticket_is_recorded_and_not_mailed(session, config, smtp_sink, smtp_handler):
    target = _setup(session, customer_email="lee@example.com")
    mailbox = session.get(Mailbox, target.mailbox_id)
    ticket = _setup(session, mailbox, merged_into_id=target.id)

    jobs.send_due_surveys(config.with_overrides(smtp_url=smtp_sink.url))

    assert smtp_handler.recipients() == {"lee@example.com": 1}
    assert (ticket.id, SurveyState.skipped) in _states(session)


def test_a_reopened_ticket_gets_no_survey(session, config, smtp_sink, smtp_handler):
    ticket = _setup(session)
    session.get(Ticket, ticket.id).status = TicketStatus.open
    session.commit()

    assert jobs.send_due_surveys(config.with_overrides(smtp_url=smtp_sink.url)) == 0
    assert _states(session) == []


def test_the_check_is_queued_at_most_once_a_minute(redis_conn):
    assert jobs.queue_survey_check(redis_conn) is True
    assert jobs.queue_survey_check(redis_conn) is False
