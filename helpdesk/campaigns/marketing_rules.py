"""The organisation's rules for marketing mail: a frequency cap per customer across all
campaigns (and, later, journeys) and quiet hours, checked where deliveries are claimed.

Support mail (ticket replies, acknowledgements) never passes through here: it is not a
delivery, so it neither counts towards the cap nor waits for quiet hours to end.
Customers have no time zone of their own yet, so quiet hours are read in the zone set
with the rules (the organisation's DEFAULT_TIMEZONE unless a marketer chose another).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.campaigns.models import Delivery, DeliveryState, MarketingRules
from helpdesk.customers.models import Customer
from helpdesk.text import lazy_text as _l

RULES_ID = 1
MAX_CAP_MESSAGES = 100
MAX_CAP_DAYS = 365
# A delivery counts towards the cap once claimed: in flight, sent, or perhaps sent.
COUNTED_STATES = (DeliveryState.sending, DeliveryState.sent, DeliveryState.uncertain)

CAP = "cap"
QUIET_HOURS = "quiet_hours"


class RulesInvalid(ValueError):
    """The submitted rules, with a message per field."""

    def __init__(self, errors: dict[str, object]):
        super().__init__("; ".join(str(error) for error in errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class RulesData:
    """The settings page's values as typed."""

    cap_enabled: bool = False
    cap_messages: str = ""
    cap_days: str = ""
    quiet_enabled: bool = False
    quiet_start: str = ""
    quiet_end: str = ""
    timezone: str = "UTC"


@dataclass(frozen=True)
class Hold:
    reason: str
    # The earliest moment the message may go.
    until: datetime


@dataclass
class Allowance:
    allowed: list[int] = field(default_factory=list)
    held: dict[int, Hold] = field(default_factory=dict)


def get_rules(session: Session, default_timezone: str = "UTC") -> MarketingRules:
    """The saved rules, or unsaved defaults (no cap, no quiet hours)."""
    rules = session.get(MarketingRules, RULES_ID)
    if rules is None:
        return MarketingRules(id=RULES_ID, cap_messages=None, cap_days=7, timezone=default_timezone)
    return rules


def rules_active(rules: MarketingRules) -> bool:
    return rules.cap_messages is not None or _quiet_window(rules) is not None


def _whole_number(raw: str, key: str, low: int, high: int, errors: dict) -> int:
    text = (raw or "").strip()
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        errors[key] = _l("Enter a whole number from %(low)d to %(high)d.", low=low, high=high)
        return low
    return int(text)


def _clock_time(raw: str, key: str, errors: dict) -> time | None:
    try:
        return time.fromisoformat((raw or "").strip()).replace(second=0, microsecond=0)
    except ValueError:
        errors[key] = _l("Enter a time as HH:MM, e.g. 21:00.")
        return None


def save_rules(session: Session, data: RulesData) -> MarketingRules:
    """Check and store the rules; raises RulesInvalid and changes nothing on bad input."""
    errors: dict[str, object] = {}
    cap_messages = cap_days = None
    if data.cap_enabled:
        cap_messages = _whole_number(data.cap_messages, "cap_messages", 1, MAX_CAP_MESSAGES, errors)
        cap_days = _whole_number(data.cap_days, "cap_days", 1, MAX_CAP_DAYS, errors)
    quiet_start = quiet_end = None
    if data.quiet_enabled:
        quiet_start = _clock_time(data.quiet_start, "quiet_start", errors)
        quiet_end = _clock_time(data.quiet_end, "quiet_end", errors)
        if quiet_start is not None and quiet_start == quiet_end:
            errors["quiet_end"] = _l("Quiet hours must end at another time than they start.")
    if data.timezone not in available_timezones():
        errors["timezone"] = _l("Choose a time zone from the list.")
    if errors:
        raise RulesInvalid(errors)
    rules = session.get(MarketingRules, RULES_ID) or MarketingRules(id=RULES_ID)
    rules.cap_messages = cap_messages
    if cap_days is not None:
        rules.cap_days = cap_days
    rules.quiet_start = quiet_start
    rules.quiet_end = quiet_end
    rules.timezone = data.timezone
    session.add(rules)
    session.flush()
    return rules


def _quiet_window(rules: MarketingRules) -> tuple[time, time] | None:
    if rules.quiet_start is None or rules.quiet_end is None:
        return None
    return rules.quiet_start, rules.quiet_end


def quiet_until(rules: MarketingRules, moment: datetime) -> datetime | None:
    """When the quiet hours around `moment` end (UTC), or None when `moment` is not in
    them. A start after the end (22:00–07:00) spans midnight."""
    window = _quiet_window(rules)
    if window is None:
        return None
    start, end = window
    zone = ZoneInfo(rules.timezone)
    local = moment.astimezone(zone)
    now = local.time().replace(tzinfo=None)
    quiet = start <= now < end if start < end else now >= start or now < end
    if not quiet:
        return None
    ends = datetime.combine(local.date(), end, tzinfo=zone)
    if ends <= local:
        ends = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=zone)
    return ends.astimezone(UTC)


def marketing_sends_allowed(
    session: Session,
    customer_ids: Iterable[int],
    now: datetime,
    *,
    rules: MarketingRules | None = None,
) -> Allowance:
    """Which of these customers may get one more marketing message now, and until when
    the others are held back (by the cap, or by quiet hours).

    Call it inside the transaction that then records the sends (claims the deliveries):
    on PostgreSQL it locks the customers' rows until that commit, so two workers
    checking the same customer take turns and the second one sees the first one's claim.
    """
    ids = sorted(set(customer_ids))
    rules = rules if rules is not None else get_rules(session)
    allowance = Allowance()
    if not ids:
        return allowance
    recent = _recent_sends(session, ids, now, rules) if rules.cap_messages is not None else {}
    for customer_id in ids:
        hold = _hold_for(rules, recent.get(customer_id, []), now)
        if hold is None:
            allowance.allowed.append(customer_id)
        else:
            allowance.held[customer_id] = hold
    return allowance


def _recent_sends(
    session: Session, ids: list[int], now: datetime, rules: MarketingRules
) -> dict[int, list[datetime]]:
    # FOR NO KEY UPDATE: claimers of the same customer wait for each other, while rows
    # that only reference the customer (a new ticket, a delivery) are not held up.
    session.execute(
        select(Customer.id)
        .where(Customer.id.in_(ids))
        .order_by(Customer.id)
        .with_for_update(key_share=True)
    )
    at = func.coalesce(Delivery.sent_at, Delivery.claimed_at)
    rows = session.execute(
        select(Delivery.customer_id, at)
        .where(
            Delivery.customer_id.in_(ids),
            Delivery.state.in_(COUNTED_STATES),
            at > now - timedelta(days=rules.cap_days),
        )
        .order_by(Delivery.customer_id, at)
    ).all()
    sends: dict[int, list[datetime]] = defaultdict(list)
    for customer_id, sent_at in rows:
        sends[customer_id].append(sent_at)
    return sends


def _hold_for(rules: MarketingRules, sends: list[datetime], now: datetime) -> Hold | None:
    cap = rules.cap_messages
    if cap is not None and len(sends) >= cap:
        # Allowed again once enough of the window's sends have left it: the one that
        # leaves the count at cap - 1.
        until = sends[len(sends) - cap] + timedelta(days=rules.cap_days)
        return Hold(CAP, quiet_until(rules, until) or until)
    quiet = quiet_until(rules, now)
    return Hold(QUIET_HOURS, quiet) if quiet is not None else None
