"""Factories for the survey tests: mailboxes with surveys switched on, resolved tickets,
sent surveys and their links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpdesk.surveys import service
from helpdesk.surveys.models import BadRatingAction, Survey, SurveyState
from helpdesk.tickets.models import TicketStatus
from tests.factories import make_mailbox, make_message, make_ticket

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SECRET = "test-secret-key"  # the `config` fixture's, so links the app checks verify


def make_survey_mailbox(session, *, enabled_at=None, now=NOW, **settings):
    """A mailbox whose survey is on: one hour after resolution, 30 quiet days."""
    mailbox = make_mailbox(
        session, **({"address": settings.pop("address")} if "address" in settings else {})
    )
    values = {
        "enabled": True,
        "delay_minutes": 60,
        "question_en": "How did we do?",
        "question_ko": "저희 지원은 어떠셨나요?",
        "quiet_days": 30,
        "bad_rating_action": BadRatingAction.nothing,
    } | settings
    service.save_settings(
        session, mailbox.id, service.SettingsData(**values), enabled_at or now - timedelta(days=1)
    )
    session.commit()
    return mailbox


def make_resolved_ticket(
    session,
    mailbox,
    *,
    resolved_ago=timedelta(hours=2),
    customer_email="kim@example.com",
    now=NOW,
    **kw,
):
    """A resolved ticket in `mailbox` with one customer message, resolved that long
    before `now`."""
    resolved_at = now - resolved_ago
    values = {
        "mailbox_id": mailbox.id,
        "status": TicketStatus.resolved,
        "resolved_at": resolved_at,
        "created_at": resolved_at - timedelta(hours=1),
    } | kw
    ticket = make_ticket(session, customer_email=customer_email, **values)
    make_message(
        session,
        ticket,
        from_email=customer_email,
        created_at=resolved_at - timedelta(hours=1),
        body_text="My order did not arrive.",
    )
    return ticket


def make_sent_survey(session, mailbox=None, **ticket_overrides):
    """A ticket whose survey was mailed; returns (survey, signed link value)."""
    mailbox = mailbox or make_survey_mailbox(session)
    ticket = make_resolved_ticket(session, mailbox, **ticket_overrides)
    survey = service.claim_survey(session, ticket.id, NOW)
    assert survey is not None and survey.state == SurveyState.sending
    service.mark_sent(session, survey.id, NOW)
    session.commit()
    session.refresh(survey)
    return survey, service.sign_link(SECRET, survey.token)


def expired_link(monkeypatch, survey) -> str:
    """A genuine link to the survey, signed longer ago than links work."""
    import time

    from itsdangerous.timed import TimestampSigner

    signed_at = int(time.time() - service.LINK_MAX_AGE.total_seconds() - 60)
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: signed_at)
        return service.sign_link(SECRET, survey.token)


def survey_row(session, survey_id):
    """The survey as the database holds it now."""
    session.rollback()
    return session.get(Survey, survey_id, populate_existing=True)
