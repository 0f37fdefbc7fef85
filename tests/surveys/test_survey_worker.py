"""worker.py, as production runs it, queues the survey check by itself and mails a due
survey through the SMTP relay once."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.db import utcnow
from helpdesk.surveys.models import Survey, SurveyState
from tests.processes import fresh_snapshot, kill_worker_and_horse, start_worker, wait_until
from tests.surveys.support import make_resolved_ticket, make_survey_mailbox


def test_a_running_worker_mails_a_due_survey_once(
    session, redis_conn, worker_env, smtp_handler, monkeypatch, tmp_path
):
    monkeypatch.setenv("CAMPAIGN_CHECK_SECONDS", "1")
    now = utcnow()
    ticket = make_resolved_ticket(session, make_survey_mailbox(session, now=now), now=now)
    log = tmp_path / "worker.log"
    worker = start_worker(log=log)
    try:
        wait_until(
            lambda: len(smtp_handler.received) == 1,
            timeout=60,
            explain=lambda: log.read_text(errors="replace")[-3000:],
        )
        with fresh_snapshot(session):
            state = session.scalar(select(Survey.state).where(Survey.ticket_id == ticket.id))
    finally:
        kill_worker_and_horse(worker)

    assert state == SurveyState.sent
    assert smtp_handler.recipients() == {"kim@example.com": 1}
    assert "/s/" in smtp_handler.received[0].message.get_body(("plain",)).get_content()
