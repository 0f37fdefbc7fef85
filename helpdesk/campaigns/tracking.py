"""Signed tracking links (open pixel, click redirect, unsubscribe, view in browser) and what
each of them records.

Every link carries the delivery's random token signed with the app's secret key (one salt
per purpose), so a link for one purpose cannot be replayed as another, and a guessed or
edited link is refused before the database is asked. Opens and clicks are not written
while the reader waits: the view checks the signature, appends a compact event to a Redis
list and answers; a flush job counts them in batches (`tracking_events`). When Redis cannot
be reached the views fall back to `record_open` / `record_click`, which write straight to
the database. Unsubscribes are always written at once.
"""

from __future__ import annotations

import ipaddress
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import quote

from itsdangerous import BadSignature, Signer
from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from helpdesk.campaigns.models import CampaignLink, ClickEvent, Delivery, OpenEvent
from helpdesk.campaigns.suppression import unsubscribe_customer

OPEN, CLICK, UNSUBSCRIBE, VIEW = "open", "click", "unsubscribe", "view"

# A 1x1 transparent GIF: the smallest image every mail client shows.
PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)

# Proxies that fetch images on the reader's behalf or ahead of them: Gmail and Yahoo
# image proxies, Outlook's prefetcher, link scanners. Apple Mail Privacy Protection
# sends a bare "Mozilla/5.0" from Apple's 17.0.0.0/8 network.
_MACHINE_AGENTS = re.compile(
    r"GoogleImageProxy|YahooMailProxy|ggpht\.com|Outlook-iOS-Android|"
    r"bot\b|crawler|spider|preview|Barracuda|Mimecast|Proofpoint",
    re.IGNORECASE,
)
_APPLE_NETWORK = ipaddress.ip_network("17.0.0.0/8")


class UnknownToken(LookupError):
    """The link is tampered with, of another purpose, or names no delivery or link."""


class _KeyCachingSigner(Signer):
    """itsdangerous derives the signing key (one HMAC) on every sign and check; a
    campaign signs four links per message and the pixel checks one per fetch."""

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        cached = self.__dict__.get("_derived", {})
        if secret_key not in cached:
            cached = {**cached, secret_key: super().derive_key(secret_key)}
            self._derived = cached
        return cached[secret_key]


@lru_cache(maxsize=32)
def _signer(secret_key: str, purpose: str) -> Signer:
    return _KeyCachingSigner(secret_key, salt=f"helpdesk.campaign.{purpose}")


def sign(secret_key: str, purpose: str, value: str) -> str:
    return _signer(secret_key, purpose).sign(value).decode()


def unsign(secret_key: str, purpose: str, signed: str) -> str:
    try:
        return _signer(secret_key, purpose).unsign(signed).decode()
    except (BadSignature, UnicodeError):
        raise UnknownToken(purpose) from None


@dataclass(frozen=True)
class TrackingUrls:
    open_url: str
    unsubscribe_url: str
    view_in_browser_url: str
    click_base: str

    def click_url(self, position: int) -> str:
        return f"{self.click_base}/{position}"


def tracking_urls(
    public_url: str, secret_key: str, token: str, campaign_id: int | None = None
) -> TrackingUrls:
    """With `campaign_id`, click links carry the campaign too (`<token>.<campaign id>`,
    signed), so a click finds its target URL without asking the database."""
    base = public_url.rstrip("/")
    click_value = token if campaign_id is None else f"{token}.{campaign_id}"
    return TrackingUrls(
        open_url=f"{base}/t/o/{sign(secret_key, OPEN, token)}.gif",
        unsubscribe_url=f"{base}/u/{sign(secret_key, UNSUBSCRIBE, token)}",
        view_in_browser_url=f"{base}/t/v/{sign(secret_key, VIEW, token)}",
        click_base=f"{base}/t/c/{sign(secret_key, CLICK, click_value)}",
    )


def unsign_click(secret_key: str, signed: str) -> tuple[str, int | None]:
    """(token, campaign id) of a click link; the campaign id is None for links mailed
    before it was signed in."""
    token, _, campaign = unsign(secret_key, CLICK, signed).partition(".")
    return token, int(campaign) if campaign.isdigit() else None


def unsubscribe_mailto(token: str, domain: str) -> str:
    return f"mailto:unsubscribe+{quote(token)}@{domain}?subject=unsubscribe"


_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def rewrite_links(html: str, positions: dict[str, int], urls: TrackingUrls) -> str:
    """Point each of the campaign's links at its signed redirect; other hrefs (mailto:,
    the unsubscribe link, personalised URLs) stay as they are."""

    def replace(match: re.Match) -> str:
        position = positions.get(match.group(3).strip().replace("&amp;", "&"))
        if position is None:
            position = positions.get(match.group(3).strip())
        if position is None:
            return match.group(0)
        quote_char = match.group(2)
        return f"{match.group(1)}{quote_char}{urls.click_url(position)}{quote_char}"

    return _HREF.sub(replace, html)


def is_machine_open(
    user_agent: str, remote_ip: str, sent_at: datetime | None, now: datetime, window_s: int
) -> bool:
    if sent_at is not None and now - sent_at < timedelta(seconds=window_s):
        return True
    if _MACHINE_AGENTS.search(user_agent):
        return True
    try:
        apple = ipaddress.ip_address(remote_ip) in _APPLE_NETWORK
    except ValueError:
        apple = False
    return apple or user_agent.strip() in ("", "Mozilla/5.0")


def _delivery_by_token(session: Session, token: str) -> tuple[int, datetime | None, int]:
    row = session.execute(
        select(Delivery.id, Delivery.sent_at, Delivery.customer_id).where(Delivery.token == token)
    ).one_or_none()
    if row is None:
        raise UnknownToken(token)
    return row.id, row.sent_at, row.customer_id


def record_open(
    session: Session,
    secret_key: str,
    signed: str,
    *,
    user_agent: str,
    remote_ip: str,
    now: datetime,
    machine_window_s: int = 10,
) -> bool:
    """Count one open; returns whether it looked like a machine's."""
    token = unsign(secret_key, OPEN, signed)
    delivery_id, sent_at, _customer = _delivery_by_token(session, token)
    machine = is_machine_open(user_agent, remote_ip, sent_at, now, machine_window_s)
    session.add(
        OpenEvent(delivery_id=delivery_id, at=now, is_machine=machine, user_agent=user_agent[:500])
    )
    if machine:
        values = {"machine_open_count": Delivery.machine_open_count + 1}
    else:
        values = {
            "open_count": Delivery.open_count + 1,
            "first_opened_at": case(
                (Delivery.first_opened_at.is_(None), now), else_=Delivery.first_opened_at
            ),
        }
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return machine


def record_click(
    session: Session,
    secret_key: str,
    signed: str,
    position: int,
    *,
    user_agent: str,
    now: datetime,
) -> str:
    """Count the click and return the campaign's own URL for that link."""
    token, _campaign_id = unsign_click(secret_key, signed)
    row = session.execute(
        select(Delivery.id, CampaignLink.id.label("link_id"), CampaignLink.url)
        .join(CampaignLink, CampaignLink.campaign_id == Delivery.campaign_id)
        .where(Delivery.token == token, CampaignLink.position == position)
    ).one_or_none()
    if row is None:
        raise UnknownToken(token)
    session.add(
        ClickEvent(delivery_id=row.id, link_id=row.link_id, at=now, user_agent=user_agent[:500])
    )
    session.execute(
        update(Delivery)
        .where(Delivery.id == row.id)
        .values(
            click_count=Delivery.click_count + 1,
            first_clicked_at=case(
                (Delivery.first_clicked_at.is_(None), now), else_=Delivery.first_clicked_at
            ),
        )
        .execution_options(synchronize_session=False)
    )
    return row.url


def check_unsubscribe_token(session: Session, secret_key: str, signed: str) -> int:
    """The delivery the unsubscribe link belongs to (for the confirmation page)."""
    token = unsign(secret_key, UNSUBSCRIBE, signed)
    return _delivery_by_token(session, token)[0]


def unsubscribe(session: Session, secret_key: str, signed: str, *, now: datetime) -> int:
    """Unsubscribe the delivery's customer from all campaigns; safe to repeat."""
    token = unsign(secret_key, UNSUBSCRIBE, signed)
    return _unsubscribe_delivery(session, token, now)


def _unsubscribe_delivery(session: Session, token: str, now: datetime) -> int:
    delivery_id, _sent_at, customer_id = _delivery_by_token(session, token)
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.unsubscribed_at.is_(None))
        .values(unsubscribed_at=now)
        .execution_options(synchronize_session=False)
    )
    unsubscribe_customer(session, customer_id, now=now)
    return delivery_id


_UNSUBSCRIBE_ADDRESS = re.compile(r"^unsubscribe\+([A-Za-z0-9]+)@", re.IGNORECASE)


def is_unsubscribe_address(address: str) -> bool:
    return _UNSUBSCRIBE_ADDRESS.match(address.strip()) is not None


def unsubscribe_by_address(session: Session, address: str, *, now: datetime) -> int | None:
    """For mail to the List-Unsubscribe mailto address (`unsubscribe+<token>@domain`);
    returns the delivery id, or None when the address carries no known token."""
    match = _UNSUBSCRIBE_ADDRESS.match(address.strip())
    if match is None:
        return None
    try:
        return _unsubscribe_delivery(session, match.group(1), now)
    except UnknownToken:
        return None


def delivery_for_view(session: Session, secret_key: str, signed: str) -> Delivery:
    token = unsign(secret_key, VIEW, signed)
    delivery = session.scalars(select(Delivery).where(Delivery.token == token)).first()
    if delivery is None:
        raise UnknownToken(token)
    return delivery


# --- click targets without the database -----------------------------------------------


def campaign_of_token(session: Session, token: str) -> int | None:
    return session.scalar(select(Delivery.campaign_id).where(Delivery.token == token))


def campaign_links(session: Session, campaign_id: int) -> dict[int, str]:
    return dict(
        session.execute(
            select(CampaignLink.position, CampaignLink.url).where(
                CampaignLink.campaign_id == campaign_id
            )
        ).all()
    )


class CampaignLinkCache:
    """Campaign id -> {position: URL} for the click redirect.

    A campaign's links are written once, when it starts sending, before any message
    carries them, and never change; so a web process may keep them and answer a click
    with no query. Entries still expire after `max_age` seconds, so a database restored
    from a backup cannot leave a process redirecting by stale links for long. Only the
    campaign's own links are ever redirected to.
    """

    def __init__(self, max_campaigns: int = 256, max_age: float = 300.0) -> None:
        self.max_campaigns = max_campaigns
        self.max_age = max_age
        self._links: dict[int, tuple[float, dict[int, str]]] = {}
        self._lock = threading.Lock()

    def url(
        self, campaign_id: int, position: int, load: Callable[[int], dict[int, str]]
    ) -> str | None:
        now = time.monotonic()
        cached = self._links.get(campaign_id)
        if cached is None or now - cached[0] > self.max_age:
            links = load(campaign_id)
            if not links:
                return None
            with self._lock:
                if len(self._links) >= self.max_campaigns:
                    self._links.pop(next(iter(self._links)), None)
                self._links[campaign_id] = (now, links)
        else:
            links = cached[1]
        return links.get(position)

    def clear(self) -> None:
        with self._lock:
            self._links.clear()
