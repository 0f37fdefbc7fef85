"""Korea's rules for advertising mail (정보통신망법 제50조): the "(광고)" subject marker, a
Korean footer naming the sender and how to refuse further mail, and no advertising
between 21:00 and 08:00 KST without a separate consent.

Night-time deferral moves a delivery's `next_attempt_at` to 08:00 KST inside the claim,
so deferred mail leaves through the same claim and at-most-once path as every other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from html import escape
from zoneinfo import ZoneInfo

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session

from helpdesk.campaigns.models import (
    Campaign,
    Delivery,
    DeliveryState,
    MarketingSettings,
    NightAdMode,
)
from helpdesk.customers.models import Customer
from helpdesk.text import lazy_text as _l

KST = ZoneInfo("Asia/Seoul")
AD_MARKER = "(광고)"
NIGHT_STARTS = time(21, 0)
NIGHT_ENDS = time(8, 0)


class MarketingSettingsError(ValueError):
    """Advertising settings that cannot be saved; `errors` maps field to message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{key}: {value}" for key, value in errors.items()))


def marketing_settings(session: Session) -> MarketingSettings:
    """The organisation's settings row (made on first use)."""
    settings = session.scalar(select(MarketingSettings).order_by(MarketingSettings.id).limit(1))
    if settings is None:
        settings = MarketingSettings(
            sender_name="", sender_contact="", night_mode=NightAdMode.defer
        )
        session.add(settings)
        session.flush()
    return settings


def update_marketing_settings(
    session: Session, *, sender_name: str, sender_contact: str, night_mode: str
) -> MarketingSettings:
    errors: dict[str, str] = {}
    name = " ".join((sender_name or "").split())
    contact = " ".join((sender_contact or "").split())
    if len(name) > 200:
        errors["sender_name"] = _l("Use at most 200 characters.")
    if len(contact) > 500:
        errors["sender_contact"] = _l("Use at most 500 characters.")
    if night_mode not in NightAdMode.__members__:
        errors["night_mode"] = _l("Choose one of the night-time rules.")
    if errors:
        raise MarketingSettingsError(errors)
    settings = marketing_settings(session)
    settings.sender_name = name
    settings.sender_contact = contact
    settings.night_mode = NightAdMode(night_mode)
    session.commit()
    return settings


@dataclass(frozen=True)
class AdNotice:
    """What an advertising message must say about its sender."""

    sender_name: str
    sender_contact: str

    @classmethod
    def for_campaign(cls, session: Session, campaign: Campaign) -> AdNotice | None:
        if not campaign.advertising:
            return None
        settings = marketing_settings(session)
        return cls(settings.sender_name or campaign.from_name, settings.sender_contact)

    def subject(self, subject: str) -> str:
        """The subject with "(광고)" in front, once, however the marketer wrote it."""
        if subject.lstrip().startswith(AD_MARKER):
            return subject.lstrip()
        return f"{AD_MARKER} {subject}"

    def _lines(self) -> list[str]:
        sender = ", ".join(part for part in (self.sender_name, self.sender_contact) if part)
        return [
            f"본 메일은 광고성 정보로, 수신에 동의하신 분께 발송되었습니다. 발신자: {sender}",
            "수신을 원하지 않으시면 아래 수신거부 링크를 눌러 주세요. "
            "수신거부는 무료이며 즉시 처리됩니다.",
        ]

    def text_footer(self, unsubscribe_url: str) -> str:
        return "\n\n---\n" + "\n".join([*self._lines(), f"수신거부: {unsubscribe_url}"]) + "\n"

    def html_footer(self, unsubscribe_url: str) -> str:
        paragraphs = "".join(
            f'<p style="margin:0 0 4px 0">{escape(line)}</p>' for line in self._lines()
        )
        link = f'<a href="{escape(unsubscribe_url)}">수신거부</a>'
        return (
            '<div style="margin-top:24px;padding-top:12px;border-top:1px solid #ddd;'
            f'font-size:12px;color:#666">{paragraphs}<p style="margin:0">{link}</p></div>'
        )

    def add_html_footer(self, html: str, unsubscribe_url: str) -> str:
        footer = self.html_footer(unsubscribe_url)
        if "</body>" in html:
            return html.replace("</body>", footer + "</body>", 1)
        return html + footer


def morning_after(now: datetime) -> datetime | None:
    """08:00 KST ending the night `now` falls in (as UTC); None in the daytime."""
    local = now.astimezone(KST)
    if NIGHT_ENDS <= local.time() < NIGHT_STARTS:
        return None
    day = local.date() if local.time() < NIGHT_ENDS else local.date() + timedelta(days=1)
    return datetime.combine(day, NIGHT_ENDS, tzinfo=KST).astimezone(now.tzinfo)


def defer_night_deliveries(session: Session, campaign_id: int, now: datetime) -> int:
    """At night, push the campaign's due pending deliveries to 08:00 KST (in consent mode
    only those of customers without the night-time consent). Returns how many moved;
    runs inside the claim's transaction so no due row is claimed meanwhile."""
    morning = morning_after(now)
    if morning is None:
        return 0
    if not session.scalar(select(Campaign.advertising).where(Campaign.id == campaign_id)):
        return 0
    conditions = [
        Delivery.campaign_id == campaign_id,
        Delivery.state == DeliveryState.pending,
        or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
    ]
    if marketing_settings(session).night_mode == NightAdMode.consent:
        consented = exists().where(
            Customer.id == Delivery.customer_id, Customer.night_ad_consent_at.is_not(None)
        )
        conditions.append(~consented)
    return session.execute(
        update(Delivery)
        .where(*conditions)
        .values(next_attempt_at=morning)
        .execution_options(synchronize_session=False)
    ).rowcount
