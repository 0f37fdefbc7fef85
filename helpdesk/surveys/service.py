"""What a survey does: each mailbox's settings, which resolved tickets get one (and
which do not, and why), the claim that lets only one worker send it, the signed rating
links, and recording a rating or a comment with what a bad rating sets off.

A ticket gets at most one survey. The claim is the INSERT of its `surveys` row (the
ticket id is unique), made while the customer's row is locked, so two workers can
neither both survey one ticket nor both survey one customer inside the quiet period.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from helpdesk.customers.models import Customer, Tag
from helpdesk.input_bounds import bounded_int
from helpdesk.mail.models import DeliveryProblem, DeliveryProblemKind, RawMessage, RawStatus
from helpdesk.notifications import service as notifications
from helpdesk.notifications.models import NotificationKind
from helpdesk.surveys.models import (
    BadRatingAction,
    Rating,
    SkipReason,
    Survey,
    SurveySettings,
    SurveyState,
)
from helpdesk.text import LazyText
from helpdesk.text import lazy_text as _l
from helpdesk.tickets.models import DONE_STATUSES, Message, MessageKind, Ticket, ticket_tags
from helpdesk.tickets.service import reopen_done_ticket

DEFAULT_QUESTION_EN = "How would you rate the support you received?"
DEFAULT_QUESTION_KO = "받으신 지원에 얼마나 만족하셨나요?"
MAX_DELAY_MINUTES = 30 * 24 * 60
MAX_QUIET_DAYS = 365
MAX_QUESTION = 500
MAX_COMMENT = 2000
# Tickets resolved longer ago than the delay plus this are left alone: a worker that was
# down for days does not send a pile of late surveys about forgotten tickets.
LOOKBACK = timedelta(days=3)
# How long the links in a survey mail work.
LINK_MAX_AGE = timedelta(days=30)
# Tickets closed with one of these tags were not a real conversation with a customer.
SKIP_TAGS = {"spam": SkipReason.spam, "duplicate": SkipReason.duplicate}


class SurveyInvalid(ValueError):
    """Refused settings or input; `errors` maps a field to a message. Nothing changed."""

    def __init__(self, errors: dict[str, LazyText]):
        super().__init__("; ".join(str(m) for m in errors.values()))
        self.errors = errors


class SurveyLinkInvalid(LookupError):
    """The link was altered, is of another purpose, or names no survey."""


class SurveyLinkExpired(LookupError):
    """The link was genuine but is older than LINK_MAX_AGE."""


# --- settings ------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingsData:
    enabled: bool
    delay_minutes: int
    question_en: str
    question_ko: str
    quiet_days: int
    bad_rating_action: BadRatingAction


def settings_of(session: Session, mailbox_id: int) -> SurveySettings:
    """The mailbox's settings, or unsaved defaults (off) when it has none yet."""
    found = session.get(SurveySettings, mailbox_id)
    if found is not None:
        return found
    return SurveySettings(
        mailbox_id=mailbox_id,
        enabled=False,
        delay_minutes=24 * 60,
        question_en=DEFAULT_QUESTION_EN,
        question_ko=DEFAULT_QUESTION_KO,
        quiet_days=30,
        bad_rating_action=BadRatingAction.nothing,
    )


def parse_settings(form: Mapping[str, str]) -> SettingsData:
    """Settings from form values (delay in hours, which may have a fraction); raises
    SurveyInvalid naming every refused field."""
    errors: dict[str, LazyText] = {}
    delay_minutes = 0
    try:
        hours = float((form.get("delay_hours") or "").strip())
    except ValueError:
        hours = math.nan
    if math.isfinite(hours) and 0 <= hours * 60 <= MAX_DELAY_MINUTES:
        delay_minutes = round(hours * 60)
    else:
        errors["delay_hours"] = _l(
            "Enter a number of hours from 0 to %(n)d.", n=MAX_DELAY_MINUTES // 60
        )
    quiet_days = bounded_int(form.get("quiet_days") or "", maximum=MAX_QUIET_DAYS)
    if quiet_days is None:
        errors["quiet_days"] = _l("Enter a whole number of days from 0 to %(n)d.", n=MAX_QUIET_DAYS)
    questions = {}
    for name in ("question_en", "question_ko"):
        text = " ".join((form.get(name) or "").split())
        if not text:
            errors[name] = _l("Write the question.")
        elif len(text) > MAX_QUESTION:
            errors[name] = _l("Use at most %(n)d characters.", n=MAX_QUESTION)
        questions[name] = text
    try:
        action = BadRatingAction(form.get("bad_rating_action") or "")
    except ValueError:
        errors["bad_rating_action"] = _l("Choose what a bad rating does from the list.")
        action = BadRatingAction.nothing
    if errors:
        raise SurveyInvalid(errors)
    return SettingsData(
        enabled=(form.get("enabled") or "") in ("1", "on", "y", "true"),
        delay_minutes=delay_minutes,
        question_en=questions["question_en"],
        question_ko=questions["question_ko"],
        quiet_days=quiet_days,
        bad_rating_action=action,
    )


def save_settings(
    session: Session, mailbox_id: int, data: SettingsData, now: datetime
) -> SurveySettings:
    settings = session.get(SurveySettings, mailbox_id)
    if settings is None:
        settings = SurveySettings(mailbox_id=mailbox_id, enabled=False)
        session.add(settings)
    if data.enabled and not settings.enabled:
        settings.enabled_at = now
    settings.enabled = data.enabled
    settings.delay_minutes = data.delay_minutes
    settings.question_en = data.question_en
    settings.question_ko = data.question_ko
    settings.quiet_days = data.quiet_days
    settings.bad_rating_action = data.bad_rating_action
    session.flush()
    return settings


# --- which tickets get a survey ----------------------------------------------------------


def _cutoff(settings: SurveySettings, now: datetime) -> datetime:
    return now - timedelta(minutes=settings.delay_minutes)


def due_ticket_ids(session: Session, now: datetime, limit: int = 500) -> list[int]:
    """Resolved or closed tickets of mailboxes with surveys on, resolved at least the
    delay ago (after the survey was switched on), with no survey decided yet. A ticket
    reopened before the delay passed is not done, so it is not among them."""
    found: list[int] = []
    for settings in session.scalars(
        select(SurveySettings).where(SurveySettings.enabled).order_by(SurveySettings.mailbox_id)
    ):
        cutoff = _cutoff(settings, now)
        earliest = max(settings.enabled_at or now, cutoff - LOOKBACK)
        found += session.scalars(
            select(Ticket.id)
            .where(
                Ticket.mailbox_id == settings.mailbox_id,
                Ticket.status.in_(DONE_STATUSES),
                Ticket.resolved_at <= cutoff,
                Ticket.resolved_at >= earliest,
                ~select(Survey.id).where(Survey.ticket_id == Ticket.id).exists(),
            )
            .order_by(Ticket.resolved_at, Ticket.id)
            .limit(limit - len(found))
        )
        if len(found) >= limit:
            break
    return found


def skip_reason(
    session: Session, ticket: Ticket, settings: SurveySettings, now: datetime
) -> SkipReason | None:
    """Why this ticket gets no survey, or None when it should get one."""
    if ticket.merged_into_id is not None:
        return SkipReason.merged
    tags = session.scalars(
        select(func.lower(Tag.name))
        .join(ticket_tags, ticket_tags.c.tag_id == Tag.id)
        .where(ticket_tags.c.ticket_id == ticket.id)
    )
    for tag in tags:
        if tag in SKIP_TAGS:
            return SKIP_TAGS[tag]
    last_inbound = session.scalar(
        select(Message.kind)
        .where(
            Message.ticket_id == ticket.id,
            Message.kind.in_((MessageKind.customer, MessageKind.auto_reply)),
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    )
    if last_inbound == MessageKind.auto_reply:
        return SkipReason.auto_reply
    last_raw = session.scalar(
        select(RawMessage.status)
        .where(
            RawMessage.ticket_id == ticket.id,
            RawMessage.status.in_(
                (RawStatus.ingested, RawStatus.auto_reply, RawStatus.bounce, RawStatus.complaint)
            ),
        )
        .order_by(RawMessage.received_at.desc(), RawMessage.id.desc())
        .limit(1)
    )
    if last_raw == RawStatus.auto_reply:
        return SkipReason.auto_reply
    if last_raw in (RawStatus.bounce, RawStatus.complaint):
        return SkipReason.bounce
    # An address that bounced hard or complained gets no more mail it did not ask for.
    bounced = session.scalar(
        select(DeliveryProblem.id)
        .where(
            DeliveryProblem.customer_id == ticket.customer_id,
            DeliveryProblem.kind.in_(
                (DeliveryProblemKind.hard_bounce, DeliveryProblemKind.complaint)
            ),
        )
        .limit(1)
    )
    if bounced is not None:
        return SkipReason.bounce
    if settings.quiet_days:
        recent = session.scalar(
            select(Survey.id)
            .where(
                Survey.customer_id == ticket.customer_id,
                Survey.state.in_((SurveyState.sending, SurveyState.sent)),
                Survey.created_at > now - timedelta(days=settings.quiet_days),
            )
            .limit(1)
        )
        if recent is not None:
            return SkipReason.recently_surveyed
    return None


def claim_survey(session: Session, ticket_id: int, now: datetime) -> Survey | None:
    """Decide the ticket's survey: a row in `sending` (this caller sends it), in
    `skipped` with the reason, or None when it is no longer due or another worker
    decided it first. The caller commits."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.mailbox_id is None:
        return None
    settings = session.get(SurveySettings, ticket.mailbox_id)
    if settings is None or not settings.enabled:
        return None
    # Serializes the decisions for one customer (the quiet period) across workers.
    session.execute(select(Customer.id).where(Customer.id == ticket.customer_id).with_for_update())
    session.refresh(ticket)
    if (
        ticket.status not in DONE_STATUSES
        or ticket.resolved_at is None
        or ticket.resolved_at > _cutoff(settings, now)
    ):
        return None
    reason = skip_reason(session, ticket, settings, now)
    survey = Survey(
        ticket_id=ticket.id,
        customer_id=ticket.customer_id,
        mailbox_id=ticket.mailbox_id,
        agent_id=ticket.assignee_id,
        token=secrets.token_urlsafe(24),
        state=SurveyState.skipped if reason else SurveyState.sending,
        skip_reason=reason,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(survey)
    except IntegrityError:
        return None
    return survey


def mark_sent(session: Session, survey_id: int, now: datetime) -> None:
    session.execute(
        update(Survey)
        .where(Survey.id == survey_id, Survey.state == SurveyState.sending)
        .values(state=SurveyState.sent, sent_at=now, send_error="")
        .execution_options(synchronize_session=False)
    )


def mark_failed(session: Session, survey_id: int, error: str) -> None:
    """A refused send is not retried: the relay may have taken it, and a survey is not
    worth a second copy."""
    session.execute(
        update(Survey)
        .where(Survey.id == survey_id, Survey.state == SurveyState.sending)
        .values(state=SurveyState.failed, send_error=error[:2000])
        .execution_options(synchronize_session=False)
    )


# --- signed links ----------------------------------------------------------------------


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="helpdesk.survey")


def sign_link(secret_key: str, token: str) -> str:
    return _serializer(secret_key).dumps(token)


def survey_of_link(session: Session, secret_key: str, signed: str) -> Survey:
    """The survey a signed link names; raises SurveyLinkInvalid or SurveyLinkExpired."""
    try:
        token = _serializer(secret_key).loads(signed, max_age=LINK_MAX_AGE.total_seconds())
    except SignatureExpired:
        raise SurveyLinkExpired(signed) from None
    except (BadSignature, UnicodeError):
        raise SurveyLinkInvalid(signed) from None
    survey = session.scalar(select(Survey).where(Survey.token == str(token)))
    # One still in `sending` may have reached the customer: a worker can die after the
    # relay took the mail and before it recorded that.
    if survey is None or survey.state not in (SurveyState.sent, SurveyState.sending):
        raise SurveyLinkInvalid(signed)
    return survey


def parse_rating(value: str | None) -> Rating:
    try:
        return Rating((value or "").strip())
    except ValueError:
        raise SurveyInvalid({"rating": _l("Choose one of the ratings.")}) from None


def record_rating(
    session: Session, secret_key: str, signed: str, value: str | None, now: datetime
) -> Survey:
    """Record (or replace) the rating. A rating that becomes bad sets off the mailbox's
    bad-rating action once; a bad rating given again does not repeat it."""
    rating = parse_rating(value)
    survey = survey_of_link(session, secret_key, signed)
    previous = survey.rating
    survey.rating = rating
    survey.rated_at = now
    session.flush()
    if rating == Rating.bad and previous != Rating.bad:
        _act_on_bad_rating(session, survey)
    return survey


def _act_on_bad_rating(session: Session, survey: Survey) -> None:
    settings = session.get(SurveySettings, survey.mailbox_id) if survey.mailbox_id else None
    action = settings.bad_rating_action if settings else BadRatingAction.nothing
    if action == BadRatingAction.reopen:
        reopen_done_ticket(session, survey.ticket_id, "Reopened by a bad satisfaction rating.")
    elif action == BadRatingAction.notify_assignee:
        ticket = session.get(Ticket, survey.ticket_id)
        if ticket.assignee_id is not None:
            notifications.notify(
                session,
                NotificationKind.bad_rating,
                ticket_id=ticket.id,
                title=ticket.subject,
                user_ids=[ticket.assignee_id],
            )


def record_comment(
    session: Session, secret_key: str, signed: str, comment: str | None, now: datetime
) -> Survey:
    text = (comment or "").strip()
    if not text:
        raise SurveyInvalid({"comment": _l("Write a comment, or close this page.")})
    if len(text) > MAX_COMMENT:
        raise SurveyInvalid({"comment": _l("Use at most %(n)d characters.", n=MAX_COMMENT)})
    survey = survey_of_link(session, secret_key, signed)
    if survey.rating is None:
        raise SurveyInvalid({"comment": _l("Choose a rating first.")})
    survey.comment = text
    survey.commented_at = now
    session.flush()
    return survey


# --- reading --------------------------------------------------------------------------


def ticket_survey(session: Session, ticket_id: int) -> Survey | None:
    return session.scalar(select(Survey).where(Survey.ticket_id == ticket_id))


def questions_of(session: Session, survey: Survey) -> dict[str, str]:
    """The question by language code, as the survey's mailbox asks it now."""
    settings = session.get(SurveySettings, survey.mailbox_id) if survey.mailbox_id else None
    return {
        "en": settings.question_en if settings else DEFAULT_QUESTION_EN,
        "ko": settings.question_ko if settings else DEFAULT_QUESTION_KO,
    }
