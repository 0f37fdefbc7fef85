"""The pages a customer reaches from the survey mail: a GET only asks, a POST records,
bad links and bad input get a clear page and change nothing."""

from __future__ import annotations

from helpdesk.surveys.models import Rating
from tests.surveys.support import expired_link, make_sent_survey, survey_row


def test_get_from_the_mail_link_asks_and_records_nothing(client, session):
    survey, signed = make_sent_survey(session)

    response = client.get(f"/s/{signed}?rating=good")

    assert response.status_code == 200
    assert b"How did we do?" in response.data
    assert response.headers["Cache-Control"] == "no-store"
    assert survey_row(session, survey.id).rating is None


def test_head_from_a_link_scanner_records_nothing(client, session):
    survey, signed = make_sent_survey(session)

    response = client.head(f"/s/{signed}?rating=bad")

    assert response.status_code == 200
    assert survey_row(session, survey.id).rating is None


def test_the_question_reads_in_korean_for_a_korean_browser(client, session):
    _survey, signed = make_sent_survey(session)

    response = client.get(f"/s/{signed}", headers={"Accept-Language": "ko-KR"})

    assert "저희 지원은 어떠셨나요?" in response.get_data(as_text=True)


def test_post_without_a_session_or_csrf_token_records_the_rating(app, session):
    survey, signed = make_sent_survey(session)

    response = app.test_client().post(f"/s/{signed}", data={"rating": "ok"})

    assert response.status_code == 303
    assert survey_row(session, survey.id).rating == Rating.ok


def test_after_rating_the_page_offers_a_comment_form(client, session):
    _survey, signed = make_sent_survey(session)

    page = client.post(f"/s/{signed}", data={"rating": "good"}, follow_redirects=True)

    assert 'name="comment"' in page.get_data(as_text=True)


def test_a_comment_is_saved_and_thanked_for(client, session):
    survey, signed = make_sent_survey(session)
    client.post(f"/s/{signed}", data={"rating": "bad"})

    response = client.post(f"/s/{signed}/comment", data={"comment": "Took a week."})

    assert response.status_code == 200
    assert b"Thank you for your feedback." in response.data
    assert survey_row(session, survey.id).comment == "Took a week."


def test_an_unknown_rating_gets_400_and_changes_nothing(client, session):
    survey, signed = make_sent_survey(session)

    response = client.post(f"/s/{signed}", data={"rating": "5 stars"})

    assert response.status_code == 400
    assert b"Choose one of the ratings." in response.data
    assert survey_row(session, survey.id).rating is None


def test_a_too_long_comment_gets_400_and_changes_nothing(client, session):
    survey, signed = make_sent_survey(session)
    client.post(f"/s/{signed}", data={"rating": "good"})

    response = client.post(f"/s/{signed}/comment", data={"comment": "x" * 2001})

    assert response.status_code == 400
    assert b"Use at most 2000 characters." in response.data
    assert survey_row(session, survey.id).comment == ""


def test_a_forged_link_gets_404_and_changes_nothing(client, session):
    survey, signed = make_sent_survey(session)

    forged = signed[:-3] + "abc"
    responses = [
        client.get(f"/s/{forged}"),
        client.post(f"/s/{forged}", data={"rating": "bad"}),
        client.post(f"/s/{forged}/comment", data={"comment": "hi"}),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert b"This survey link is not valid." in responses[1].data
    assert survey_row(session, survey.id).rating is None


def test_an_expired_link_gets_410_and_changes_nothing(client, session, monkeypatch):
    survey, _signed = make_sent_survey(session)
    expired = expired_link(monkeypatch, survey)

    response = client.post(f"/s/{expired}", data={"rating": "bad"})

    assert response.status_code == 410
    assert b"This survey link has expired." in response.data
    assert survey_row(session, survey.id).rating is None
