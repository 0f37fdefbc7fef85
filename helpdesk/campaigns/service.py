"""Segments and campaigns as marketers edit them: save with checks, preview, schedule.

Sending itself (the recipient snapshot, workers, tracking) lives in sending.py; this
module hands a campaign over through `sending.start_sending`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, object_session

from helpdesk import input_bounds
from helpdesk.campaigns import identities, sending
from helpdesk.campaigns.models import (
    Campaign,
    CampaignStatus,
    HoldAction,
    MarketingSettings,
    Segment,
)
from helpdesk.campaigns.rendering import (
    CampaignContent,
    check_templates,
    customer_contexts,
    recipient_context,
    render_for_delivery,
    sample_customer,
)
from helpdesk.campaigns.segments import SegmentError, validate_rules
from helpdesk.customers.models import Customer
from helpdesk.db import utcnow
from helpdesk.mail.addresses import writable_sender

EDITABLE = (CampaignStatus.draft, CampaignStatus.scheduled)
MAX_TEST_ADDRESSES = 10
PREVIEW_URLS = {"unsubscribe_url": "#unsubscribe", "view_in_browser_url": "#view-in-browser"}


class InvalidInput(ValueError):
    """Refused input; ``errors`` maps each offending form field name to its message."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{key}: {message}" for key, message in self.errors.items()))


class SegmentInvalid(InvalidInput):
    pass


class CampaignInvalid(InvalidInput):
    pass


class CampaignLocked(ValueError):
    """The campaign is sending or done; its content can no longer change."""


class NotFound(LookupError):
    pass


# --- segments -------------------------------------------------------------------------


@dataclass
class SegmentData:
    name: str
    rules: Mapping | str
    description: str = ""


def parse_rules(raw: Mapping | str) -> dict:
    """Rules from the form's JSON text (or already parsed); SegmentError when unreadable."""
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        rules = input_bounds.loads_json(raw or "{}")
    except json.JSONDecodeError as exc:
        raise SegmentError(f"The rules are not valid JSON (line {exc.lineno}).") from None
    except input_bounds.UnacceptableJSON as exc:
        raise SegmentError(f"The rules cannot be used: {exc}.") from None
    if not isinstance(rules, dict):
        raise SegmentError("Rules must be an object with 'match' and 'groups'.")
    return rules


def _clean_segment(session: Session, data: SegmentData) -> tuple[str, str, dict]:
    errors: dict[str, str] = {}
    name = " ".join((data.name or "").split())
    if not name:
        errors["name"] = "Enter a name."
    elif len(name) > 200:
        errors["name"] = "Use at most 200 characters."
    rules: dict = {}
    try:
        rules = parse_rules(data.rules)
        validate_rules(session, rules)
    except SegmentError as exc:
        errors["rules"] = str(exc)
    if errors:
        raise SegmentInvalid(errors)
    return name, (data.description or "").strip()[:2000], rules


def create_segment(session: Session, data: SegmentData, *, user_id: int | None) -> Segment:
    name, description, rules = _clean_segment(session, data)
    segment = Segment(name=name, description=description, rules=rules, created_by_id=user_id)
    session.add(segment)
    session.flush()
    return segment


def update_segment(session: Session, segment_id: int, data: SegmentData) -> Segment:
    segment = get_segment(session, segment_id)
    name, description, rules = _clean_segment(session, data)
    segment.name, segment.description, segment.rules = name, description, rules
    session.flush()
    return segment


def delete_segment(session: Session, segment_id: int) -> None:
    """Campaigns that used it keep their snapshot; unsent ones lose the segment (SET NULL)."""
    session.delete(get_segment(session, segment_id))
    session.flush()


def get_segment(session: Session, segment_id: int) -> Segment:
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(segment_id)
    return segment


def list_segments(session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(func.lower(Segment.name))))


def segments_after(session: Session, after_id: int, limit: int) -> list[Segment]:
    """Segments in id order after `after_id`, for pages that neither skip nor repeat."""
    return list(
        session.scalars(
            select(Segment).where(Segment.id > after_id).order_by(Segment.id).limit(limit)
        )
    )


# --- campaigns ------------------------------------------------------------------------


@dataclass
class CampaignData:
    name: str
    subject: str = ""
    from_name: str = ""
    from_email: str = ""
    reply_to: str = ""
    html_body: str = ""
    # Empty means "generate the text part from the HTML".
    text_body: str = ""
    segment_id: int | None = None
    hold_action: str = HoldAction.defer
    advertising: bool = False
    # A verified sending identity; None: the default identity when there is one,
    # otherwise the From fields above.
    sending_identity_id: int | None = None


def _email(raw: str, errors: dict[str, str], key: str, *, required: bool) -> str:
    text = (raw or "").strip()
    if not text:
        if required:
            errors[key] = "Enter an email address."
        return ""
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        errors[key] = f"Not a valid email address: {exc}"
        return text


def _add_template_errors(content, errors: dict[str, str]) -> None:
    for problem in check_templates(content):
        key = {"Subject": "subject", "HTML body": "html_body"}.get(problem.part, "text_body")
        errors.setdefault(key, str(problem))


def _clean_campaign(session: Session, data: CampaignData) -> dict:
    errors: dict[str, str] = {}
    name = " ".join((data.name or "").split())
    if not name:
        errors["name"] = "Enter a name."
    subject = " ".join((data.subject or "").split())
    if len(subject) > 998:
        errors["subject"] = "Use at most 998 characters."
    from_name = " ".join((data.from_name or "").split())[:200]
    from_email = _email(data.from_email, errors, "from_email", required=False)
    reply_to = _email(data.reply_to, errors, "reply_to", required=False)
    if from_name and not writable_sender(from_name, from_email or "news@example.com"):
        errors["from_name"] = "This name cannot be used in an email. Leave out unusual characters."
    if data.segment_id is not None and session.get(Segment, data.segment_id) is None:
        errors["segment_id"] = "Choose a segment from the list."
    text_body = (data.text_body or "").strip()
    content = CampaignContent(
        subject=subject,
        html_body=data.html_body or "",
        text_body=text_body,
        text_edited=bool(text_body),
    )
    _add_template_errors(content, errors)
    if data.hold_action not in HoldAction.__members__:
        errors["hold_action"] = "Choose what happens to a message the rules hold back."
    sender: dict = {}
    identity_error = identities.apply_identity(session, sender, data.sending_identity_id)
    if identity_error:
        errors["sending_identity_id"] = identity_error
    if errors:
        raise CampaignInvalid(errors)
    return {
        "name": name[:200],
        "subject": subject,
        "from_name": from_name,
        "from_email": from_email,
        "reply_to": reply_to,
        "html_body": content.html_body,
        "text_body": text_body,
        "text_edited": content.text_edited,
        "segment_id": data.segment_id,
        "hold_action": HoldAction(data.hold_action),
        "advertising": bool(data.advertising),
        "sending_identity_id": None,
        **sender,
    }


def create_campaign(session: Session, data: CampaignData, *, user_id: int | None) -> Campaign:
    campaign = Campaign(**_clean_campaign(session, data), created_by_id=user_id)
    session.add(campaign)
    session.flush()
    return campaign


def update_campaign(session: Session, campaign_id: int, data: CampaignData) -> Campaign:
    campaign = get_campaign(session, campaign_id)
    if campaign.status not in EDITABLE:
        raise CampaignLocked(f"A {campaign.status} campaign cannot be edited.")
    for key, value in _clean_campaign(session, data).items():
        setattr(campaign, key, value)
    session.flush()
    return campaign


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(campaign_id)
    return campaign


def list_campaigns(session: Session) -> list[tuple[Campaign, str | None]]:
    rows = session.execute(
        select(Campaign, Segment.name)
        .outerjoin(Segment, Segment.id == Campaign.segment_id)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
    )
    return [(campaign, segment_name) for campaign, segment_name in rows]


def campaigns_after(
    session: Session, after_id: int, limit: int, status: CampaignStatus | None = None
) -> list[Campaign]:
    """Campaigns (of one status) in id order after `after_id`."""
    query = select(Campaign).where(Campaign.id > after_id)
    if status is not None:
        query = query.where(Campaign.status == status)
    return list(session.scalars(query.order_by(Campaign.id).limit(limit)))


# --- preview --------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    subject: str
    html: str
    text: str
    customer: Customer | None
    # The customer's template data as rendered (name parts, salutation, ...).
    variables: Mapping


def preview_customers(session: Session, query: str = "", limit: int = 50) -> list[Customer]:
    """Customers to preview as: a search by email or name, else the first few."""
    statement = select(Customer).order_by(Customer.id).limit(limit)
    term = query.strip().lower()
    if term:
        statement = statement.where(
            or_(
                *(
                    func.lower(column).contains(term, autoescape=True)
                    for column in (
                        Customer.email,
                        Customer.name,
                        Customer.given_name,
                        Customer.family_name,
                    )
                )
            )
        )
    return list(session.scalars(statement))


def preview_campaign(session: Session, campaign_id: int, customer_id: int | None) -> Preview:
    """The campaign as the customer would get it; without a customer, with sample data.

    Raises NotFound for an unknown customer and TemplateProblem for a broken template.
    """
    campaign = get_campaign(session, campaign_id)
    customer = None
    context = sample_customer()
    if customer_id is not None:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFound(customer_id)
        context = customer_contexts(session, [customer_id])[customer_id]
    subject, html, text = render_for_delivery(campaign, context, PREVIEW_URLS)
    return Preview(subject, html, text, customer, recipient_context(campaign, context))


# --- test sends -----------------------------------------------------------------------


def parse_test_addresses(raw: str) -> list[str]:
    """Addresses separated by commas, spaces or lines; CampaignInvalid names the bad ones."""
    parts = [p for p in (raw or "").replace(",", " ").replace(";", " ").split() if p]
    if not parts:
        raise CampaignInvalid({"addresses": "Enter at least one address."})
    if len(parts) > MAX_TEST_ADDRESSES:
        raise CampaignInvalid(
            {"addresses": f"Send a test to at most {MAX_TEST_ADDRESSES} addresses at once."}
        )
    addresses, bad = [], []
    for part in parts:
        try:
            addresses.append(validate_email(part, check_deliverability=False).normalized)
        except EmailNotValidError:
            bad.append(part)
    if bad:
        raise CampaignInvalid({"addresses": f"Not valid email addresses: {', '.join(bad)}"})
    return list(dict.fromkeys(addresses))


def check_sendable(campaign: Campaign) -> None:
    """What a real or test send needs: a sender, a subject, a message, and templates
    that render within the limits (checked again here: a campaign saved before a limit
    existed must not reach the workers)."""
    errors = {}
    if not campaign.from_email:
        errors["from_email"] = "Enter a From address before sending."
    if not campaign.subject:
        errors["subject"] = "Enter a subject before sending."
    if not campaign.html_body.strip():
        errors["html_body"] = "Write the message before sending."
    if campaign.advertising and not _sender_contact(object_session(campaign)):
        # The law asks advertising mail to say how to reach the sender.
        errors["advertising"] = (
            "Enter the sender's contact on the Senders page before sending advertising."
        )
    _add_template_errors(campaign, errors)
    if errors:
        raise CampaignInvalid(errors)


def _sender_contact(session: Session) -> str:
    return session.scalar(select(MarketingSettings.sender_contact).limit(1)) or ""


# --- scheduling -----------------------------------------------------------------------


def local_to_utc(raw: str, timezone: str) -> datetime:
    """A `datetime-local` value ("2026-05-01T09:30") in the user's zone, as aware UTC."""
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    try:
        naive = datetime.fromisoformat((raw or "").strip())
    except ValueError:
        raise CampaignInvalid({"send_at": "Enter a date and time."}) from None
    if naive.tzinfo is not None:
        raise CampaignInvalid({"send_at": "Enter a date and time."})
    return naive.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))


def _ready_to_send(session: Session, campaign: Campaign) -> None:
    if campaign.status not in EDITABLE:
        raise CampaignLocked(f"A {campaign.status} campaign cannot be sent again.")
    check_sendable(campaign)
    if campaign.segment_id is None:
        raise CampaignInvalid({"segment_id": "Choose a segment before sending."})


def schedule_campaign(
    session: Session, campaign_id: int, send_at: datetime, *, now: datetime | None = None
) -> Campaign:
    """draft/scheduled -> scheduled at `send_at` (UTC); a job starts it at that time."""
    now = now or utcnow()
    campaign = get_campaign(session, campaign_id)
    _ready_to_send(session, campaign)
    if send_at <= now:
        raise CampaignInvalid({"send_at": "Choose a time in the future, or send now."})
    campaign.status = CampaignStatus.scheduled
    campaign.scheduled_at = send_at
    session.flush()
    return campaign


def unschedule_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = get_campaign(session, campaign_id)
    if campaign.status != CampaignStatus.scheduled:
        raise CampaignLocked("Only a scheduled campaign can go back to draft.")
    campaign.status = CampaignStatus.draft
    campaign.scheduled_at = None
    session.flush()
    return campaign


def send_now(
    session: Session,
    campaign_id: int,
    *,
    enqueue_jobs: Callable[[int], None] | None,
    now: datetime | None = None,
) -> int:
    """Snapshot the recipients and start the workers; returns the number of recipients."""
    campaign = get_campaign(session, campaign_id)
    _ready_to_send(session, campaign)
    try:
        return sending.start_sending(
            session, campaign_id, now or utcnow(), enqueue_jobs=enqueue_jobs
        )
    except sending.CampaignNotStartable as exc:
        raise CampaignLocked(str(exc)) from None


def start_if_due(
    session: Session,
    campaign_id: int,
    *,
    enqueue_jobs: Callable[[int], None] | None,
    now: datetime | None = None,
) -> bool:
    """Start a scheduled campaign whose time has come; False when it was unscheduled,
    moved to a later time, or already started (the scheduler job may run twice)."""
    now = now or utcnow()
    campaign = session.get(Campaign, campaign_id)
    if (
        campaign is None
        or campaign.status != CampaignStatus.scheduled
        or campaign.scheduled_at is None
        or campaign.scheduled_at > now
    ):
        return False
    try:
        sending.start_sending(session, campaign_id, now, enqueue_jobs=enqueue_jobs)
    except sending.CampaignNotStartable:
        return False
    return True
