"""Recording a rating and a comment from a signed link, and what a bad rating does."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.notifications.models import Notification, NotificationKind
from helpdesk.surveys import service
from helpdesk.surveys.models import BadRatingAction, Rating
from helpdesk.tickets.models import Ticket, TicketStatus
from tests.surveys.support import (
    NOW,
    SECRET,
    expired_link,
    make_sent_survey,
    make_survey_mailbox,
    survey_row,
)


def _rate(session, signed, value):
    survey = service.record_rating(session, SECRET, signed, value, NOW)
    session.commit()
    return survey


def test_a_rating_is_recorded(session):
    survey, signed = make_sent_survey(session)

    _rate(session, signed, "good")

    row = survey_row(session, survey.id)
    assert (row.rating, row.rated_at) == (Rating.good, NOW)


def test_a_second_rating_replaces_the_first(session):
    survey, signed = make_sent_survey(session)
    _rate(session, signed, "good")

    _rate(session, signed, "ok")

    assert survey_row(session, survey.id).rating == Rating.ok


def test_an_unknown_rating_is_refused_and_changes_nothing(session):
    survey, signed = make_sent_survey(session)
    _rate(session, signed, "good")

    with pytest.raises(service.SurveyInvalid) as refused:
        service.record_rating(session, SECRET, signed, "excellent", NOW)

    assert "rating" in refused.value.errors
    assert survey_row(session, survey.id).rating == Rating.good


def test_a_forged_link_is_refused_and_changes_nothing(session):
    survey, signed = make_sent_survey(session)

    with pytest.raises(service.SurveyLinkInvalid):
        service.record_rating(session, SECRET, signed[:-2] + "xx", "bad", NOW)

    assert survey_row(session, survey.id).rating is None


def test_a_link_signed_with_another_key_is_refused(session):
    survey, _signed = make_sent_survey(session)

    with pytest.raises(service.SurveyLinkInvalid):
        service.record_rating(session, SECRET, service.sign_link("other", survey.token), "ok", NOW)


def test_an_expired_link_is_refused_and_changes_nothing(session, monkeypatch):
    survey, _signed = make_sent_survey(session)

    with pytest.raises(service.SurveyLinkExpired):
        service.record_rating(session, SECRET, expired_link(monkeypatch, survey), "bad", NOW)

    assert survey_row(session, survey.id).rating is None


def test_a_bad_rating_reopens_the_ticket_when_the_mailbox_says_so(session):
    mailbox = make_survey_mailbox(session, bad_rating_action=BadRatingAction.reopen)
    survey, signed = make_sent_survey(session, mailbox)

    _rate(session, signed, "bad")

    session.rollback()
    ticket = session.get(Ticket, survey.ticket_id, populate_existing=True)
    assert (ticket.status, ticket.resolved_at) == (TicketStatus.open, None)


def test_a_good_rating_leaves_the_ticket_resolved(session):
    mailbox = make_survey_mailbox(session, bad_rating_action=BadRatingAction.reopen)
    survey, signed = make_sent_survey(session, mailbox)

    _rate(session, signed, "good")

    session.rollback()
    assert session.get(Ticket, survey.ticket_id).status == TicketStatus.resolved


def test_a_bad_rating_notifies_the_assignee_when_the_mailbox_says_so(session, agent):
    mailbox = make_survey_mailbox(session, bad_rating_action=BadRatingAction.notify_assignee)
    survey, signed = make_sent_survey(session, mailbox, assignee_id=agent.id)

    _rate(session, signed, "bad")
    _rate(session, signed, "bad")

    session.rollback()
    rows = session.execute(select(Notification.user_id, Notification.kind)).all()
    assert rows == [(agent.id, NotificationKind.bad_rating)]


def test_a_bad_rating_does_nothing_else_by_default(session, agent):
    survey, signed = make_sent_survey(session, assignee_id=agent.id)

    _rate(session, signed, "bad")

    session.rollback()
    assert session.get(Ticket, survey.ticket_id).status == TicketStatus.resolved
    assert session.scalars(select(Notification.id)).all() == []


def test_a_comment_is_kept_after_a_rating(session):
    survey, signed = make_sent_survey(session)
    _rate(session, signed, "ok")

    service.record_comment(session, SECRET, signed, "  Slow, but solved.  ", NOW)
    session.commit()

    assert survey_row(session, survey.id).comment == "Slow, but solved."


@pytest.mark.parametrize(
    ("comment", "rate_first"),
    [("", True), ("x" * (service.MAX_COMMENT + 1), True), ("Nice", False)],
    ids=["empty", "too-long", "before-rating"],
)
def test_a_refused_comment_changes_nothing(session, comment, rate_first):
    survey, signed = make_sent_survey(session)
    if rate_first:
        _rate(session, signed, "good")

    with pytest.raises(service.SurveyInvalid):
        service.record_comment(session, SECRET, signed, comment, NOW)
    session.rollback()

    assert survey_row(session, survey.id).comment == ""
