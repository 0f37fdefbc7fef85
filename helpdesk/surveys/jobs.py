"""The periodic survey check the workers queue: decide the surveys of tickets resolved
long enough ago, and mail those that are due, each at most once.

A survey row is claimed (inserted in `sending`) and committed before the mail is built,
so a second worker never sends it too; a worker killed after the claim leaves the row in
`sending` and the survey unsent rather than risk a second copy.
"""

from __future__ import annotations

import logging

from helpdesk.config import Config
from helpdesk.db import session_scope, utcnow
from helpdesk.mail import outbound
from helpdesk.queue import queue_at_most_every
from helpdesk.surveys import service
from helpdesk.surveys.mail import survey_email
from helpdesk.surveys.models import SurveyState

log = logging.getLogger(__name__)

SURVEY_CHECK_KEY = "helpdesk:surveys:check"


def queue_survey_check(redis, every_seconds: int = 60) -> bool:
    """Queue `send_due_surveys` at most once every `every_seconds`; the worker calls this
    with its other periodic checks."""
    return queue_at_most_every(redis, SURVEY_CHECK_KEY, every_seconds, send_due_surveys)


def send_due_surveys(config: Config | None = None) -> int:
    """Decide every due ticket's survey and mail the ones claimed here; returns how many
    were sent."""
    config = config or Config.from_env()
    with session_scope() as session:
        ticket_ids = service.due_ticket_ids(session, utcnow())
    claimed: list[int] = []
    for ticket_id in ticket_ids:
        with session_scope() as session:
            survey = service.claim_survey(session, ticket_id, utcnow())
            if survey is not None and survey.state == SurveyState.sending:
                session.flush()
                claimed.append(survey.id)
    if not claimed:
        return 0
    sent = 0
    with outbound.SMTPSender(config.effective_smtp_url) as sender:
        for survey_id in claimed:
            sent += _send(config, sender, survey_id)
    return sent


def _send(config: Config, sender: outbound.SMTPSender, survey_id: int) -> int:
    try:
        with session_scope() as session:
            email = survey_email(
                session,
                survey_id,
                secret_key=config.secret_key,
                public_url=config.public_url,
                domain=config.effective_mail_domain,
            )
        sender.send(email)
    except Exception as exc:
        # Whatever went wrong (relay refused, bad address), the row must not stay in
        # `sending`, where it would look like a send a dead worker left.
        log.warning("sending survey %s failed: %s", survey_id, exc)
        with session_scope() as session:
            service.mark_failed(session, survey_id, f"{type(exc).__name__}: {exc}")
        return 0
    with session_scope() as session:
        service.mark_sent(session, survey_id, utcnow())
    return 1
