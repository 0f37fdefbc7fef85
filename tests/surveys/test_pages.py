"""The staff's survey pages: the mailbox's settings, the rating on the ticket page and
the customer's timeline, and the CSAT dashboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.db import utcnow
from helpdesk.surveys import service
from helpdesk.surveys.models import BadRatingAction, SurveySettings
from tests.factories import make_mailbox, make_user
from tests.helpers import login, post_form
from tests.surveys.support import SECRET, make_resolved_ticket, make_sent_survey

SETTINGS_FORM = {
    "enabled": "1",
    "delay_hours": "1.5",
    "question_en": "Happy with our help?",
    "question_ko": "도움이 되셨나요?",
    "quiet_days": "14",
    "bad_rating_action": "reopen",
}


def _settings(session, mailbox_id):
    session.rollback()
    return session.get(SurveySettings, mailbox_id, populate_existing=True)


def test_admin_switches_the_survey_on(admin_client, session):
    mailbox = make_mailbox(session)

    response = post_form(admin_client, f"/admin/mailboxes/{mailbox.id}/survey", SETTINGS_FORM)

    assert response.status_code == 302
    saved = _settings(session, mailbox.id)
    assert (saved.enabled, saved.delay_minutes, saved.quiet_days) == (True, 90, 14)
    assert saved.question_ko == "도움이 되셨나요?"
    assert saved.bad_rating_action == BadRatingAction.reopen
    assert saved.enabled_at is not None


def test_the_settings_page_shows_the_defaults(admin_client, session):
    mailbox = make_mailbox(session)

    page = admin_client.get(f"/admin/mailboxes/{mailbox.id}/survey").get_data(as_text=True)

    assert service.DEFAULT_QUESTION_KO in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("delay_hours", "soon", "Enter a number of hours from 0 to 720."),
        ("delay_hours", "-1", "Enter a number of hours from 0 to 720."),
        ("delay_hours", "inf", "Enter a number of hours from 0 to 720."),
        ("delay_hours", "nan", "Enter a number of hours from 0 to 720."),
        ("quiet_days", "1000", "Enter a whole number of days from 0 to 365."),
        ("question_en", "   ", "Write the question."),
        ("question_ko", "가" * 501, "Use at most 500 characters."),
        ("bad_rating_action", "delete", "Choose what a bad rating does from the list."),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(admin_client, session, field, value, message):
    mailbox = make_mailbox(session)

    response = post_form(
        admin_client, f"/admin/mailboxes/{mailbox.id}/survey", SETTINGS_FORM | {field: value}
    )

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _settings(session, mailbox.id) is None


def test_settings_of_a_missing_mailbox_are_404(admin_client):
    assert admin_client.get("/admin/mailboxes/999/survey").status_code == 404


def test_the_rating_and_comment_show_on_the_ticket_page(agent_client, session):
    survey, signed = make_sent_survey(session)
    service.record_rating(session, SECRET, signed, "bad", utcnow())
    service.record_comment(session, SECRET, signed, "Nobody answered my question.", utcnow())
    session.commit()

    page = agent_client.get(f"/tickets/{survey.ticket_id}").get_data(as_text=True)

    assert 'data-rating="bad"' in page
    assert "Nobody answered my question." in page


def test_a_sent_survey_without_rating_says_so_on_the_ticket_page(agent_client, session):
    survey, _signed = make_sent_survey(session)

    page = agent_client.get(f"/tickets/{survey.ticket_id}").get_data(as_text=True)

    assert "Survey sent, no rating yet." in page


def test_a_ticket_without_survey_has_no_satisfaction_section(agent_client, session):
    from tests.surveys.support import make_survey_mailbox

    ticket = make_resolved_ticket(session, make_survey_mailbox(session))

    page = agent_client.get(f"/tickets/{ticket.id}").get_data(as_text=True)

    assert 'id="satisfaction"' not in page


def test_the_rating_shows_on_the_customer_timeline(agent_client, session):
    survey, signed = make_sent_survey(session)
    service.record_rating(session, SECRET, signed, "good", utcnow())
    session.commit()

    page = agent_client.get(f"/customers/{survey.customer_id}").get_data(as_text=True)

    assert f"Rated ticket #{survey.ticket_id}: Good" in page


def test_marketers_do_not_see_ratings_on_the_timeline(marketer_client, session):
    survey, signed = make_sent_survey(session)
    service.record_rating(session, SECRET, signed, "good", utcnow())
    service.record_comment(session, SECRET, signed, "Secret complaint", utcnow())
    session.commit()

    page = marketer_client.get(f"/customers/{survey.customer_id}").get_data(as_text=True)

    assert f"Rated ticket #{survey.ticket_id}" not in page
    assert "Secret complaint" not in page


@pytest.fixture
def rated(session):
    """Three rated tickets this week: two by Alex (good, bad), one unassigned (good)."""
    alex = make_user(session, email="alex@example.com", name="Alex Agent")
    now = utcnow()
    for email, assignee, rating, comment in [
        ("a@example.com", alex.id, "good", "Quick and kind."),
        ("b@example.com", alex.id, "bad", "Still broken."),
        ("c@example.com", None, "good", ""),
    ]:
        survey, signed = make_sent_survey(
            session,
            mailbox=_mailbox(session),
            customer_email=email,
            assignee_id=assignee,
            resolved_ago=timedelta(hours=2),
        )
        service.record_rating(session, SECRET, signed, rating, now)
        if comment:
            service.record_comment(session, SECRET, signed, comment, now)
        session.commit()


def _mailbox(session):
    from helpdesk.mail.models import Mailbox
    from tests.surveys.support import make_survey_mailbox

    return session.scalar(select(Mailbox)) or make_survey_mailbox(session)


def test_dashboard_shows_csat_per_agent_and_the_comments(admin_client, rated):
    page = admin_client.get("/dashboard/satisfaction").get_data(as_text=True)

    assert 'data-figure="csat">66.7%' in page
    assert "<td>Alex Agent</td><td data-csat>50.0%</td>" in page
    assert "<td>Unassigned</td><td data-csat>100.0%</td>" in page
    assert "<td>Support</td><td data-csat>66.7%</td>" in page
    assert "Quick and kind." in page and "Still broken." in page


def test_manager_agent_opens_the_csat_dashboard(client, session, rated):
    make_user(session, email="boss@example.com", is_manager=True)
    login(client, "boss@example.com")

    assert client.get("/dashboard/satisfaction").status_code == 200


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=yesterday", "Enter a date like 2024-03-31."),
        ("mailbox=abc", "Choose a mailbox from the list."),
        ("from=2026-02-01&to=2026-01-01", "The end date must not be before the start date."),
    ],
)
def test_dashboard_refuses_bad_filters_with_a_message(admin_client, query, message):
    response = admin_client.get(f"/dashboard/satisfaction?{query}")

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
