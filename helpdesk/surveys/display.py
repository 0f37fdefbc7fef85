"""Where a rating shows outside the survey pages: a section on the ticket page and an
entry on the customer's timeline, both registered with the features that own them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.customers.timeline import Older, TimelineEntry, older_than, register_source
from helpdesk.surveys.models import Rating, Survey, SurveyState
from helpdesk.surveys.service import ticket_survey
from helpdesk.text import lazy_text as _l
from helpdesk.tickets.customer_story import ticket_url
from helpdesk.tickets.display import register_panel
from helpdesk.tickets.models import Ticket

RATING_NAMES = {Rating.good: _l("Good"), Rating.ok: _l("OK"), Rating.bad: _l("Bad")}


def _ticket_panel(session: Session, ticket: Ticket) -> tuple[str, object] | None:
    survey = ticket_survey(session, ticket.id)
    if survey is None or survey.state == SurveyState.skipped:
        return None
    rating_name = RATING_NAMES[survey.rating] if survey.rating else None
    return "surveys/_ticket_panel.html", {"survey": survey, "rating_name": rating_name}


def _timeline_entries(
    session: Session, customer_id: int, limit: int, older: Older
) -> list[TimelineEntry]:
    rows = session.execute(
        select(Survey.id, Survey.ticket_id, Survey.rating, Survey.rated_at, Survey.comment)
        .where(
            Survey.customer_id == customer_id,
            Survey.rating.is_not(None),
            older_than(Survey.rated_at, Survey.id, older),
        )
        .order_by(Survey.rated_at.desc(), Survey.id.desc())
        .limit(limit)
    )
    return [
        TimelineEntry(
            at=r.rated_at,
            kind="survey",
            title=_l(
                "Rated ticket #%(id)d: %(rating)s", id=r.ticket_id, rating=RATING_NAMES[r.rating]
            ),
            detail=r.comment,
            url=ticket_url(r.ticket_id),
            id=r.id,
        )
        for r in rows
    ]


register_panel("survey", _ticket_panel)
register_source("survey", _timeline_entries)
