"""worker.py, as production runs it, queues the survey check by itself and mails a due
survey through the SMTP relay once; a worker killed mid-send leaves it unsent rather than
send it twice."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.db import utcnow
from helpdesk.surveys import jobs
from helpdesk.surveys.models import Survey, SurveyState
from tests.processes import fresh_snapshot, kill_worker_and_horse, start_worker, wait_until
from tests.surveys.support import make_resolved_ticket, make_survey_mailbox


def test_a_running_worker_mails_a_due_survey_once(
    session, redis_conn, worker_env, smtp_handler, monkeypatch, tmp_path
):
    monkeypatch.setenv("CAMPAIGN_CHECK_SECONDS", "1")
    now = utcnow()
    ticket = make_resolved_ticket(session, make_survey_mailbox(session, now=now), now=now)
    state = select(Survey.state).where(Survey.ticket_id == ticket.id)
    log = tmp_path / "worker.log"
    worker = start_worker(log=log)
    try:
        # The relay has the mail a moment before the worker records it as sent.
        wait_until(
            lambda: _fresh(session, state) == SurveyState.sent,
            timeout=60,
            explain=lambda: log.read_text(errors="replace")[-3000:],
        )
    finally:
        kill_worker_and_horse(worker)

    assert smtp_handler.recipients() == {"kim@example.com": 1}
    assert "/s/" in smtp_handler.received[0].message.get_body(("plain",)).get_content()


def test_a_worker_killed_while_mailing_a_survey_never_sends_it_again(
    session, redis_conn, worker_env, smtp_handler, monkeypatch, tmp_path
):
    monkeypatch.setenv("CAMPAIGN_CHECK_SECONDS", "1")
    smtp_handler.delay = 3.0  # the relay is slow to answer the message: the kill lands then
    now = utcnow()
    ticket = make_resolved_ticket(session, make_survey_mailbox(session, now=now), now=now)
    claimed = select(Survey.state).where(Survey.ticket_id == ticket.id)
    log = tmp_path / "worker.log"
    worker = start_worker(log=log)
    try:
        wait_until(lambda: _fresh(session, claimed) == SurveyState.sending, timeout=60)
        kill_worker_and_horse(worker)
        # The next worker runs the check at once instead of a minute later.
        redis_conn.delete(jobs.SURVEY_CHECK_KEY)
        worker = start_worker(log=log)
        wait_until(
            lambda: (
                "Successfully completed helpdesk.surveys.jobs.send_due_surveys" in log.read_text()
            ),
            timeout=60,
            explain=lambda: log.read_text(errors="replace")[-3000:],
        )
    finally:
        kill_worker_and_horse(worker)

    assert len(smtp_handler.received) <= 1
    assert _fresh(session, claimed) == SurveyState.sending


def _fresh(session, query):
    with fresh_snapshot(session):
        return session.scalar(query)
