"""Signed tracking links (open pixel, click redirect, unsubscribe, view in browser) and what
each of them records.

Every link carries the delivery's random token signed with the app's secret key (one salt
per purpose), so a link for one purpose cannot be replayed as another, and a guessed or
edited link is refused before the database is asked. Opens and clicks are not written
while the reader waits: the view checks the signature, appends a compact event to a Redis
list (`TrackingEventLog`) and answers; a flush job hands the events out in batches and
`apply_events` counts each batch with a few set-based statements, exactly once. When
Redis cannot be reached the views fall back to `record_open` / `record_click`, which
write straight to the database. Unsubscribes are always written at once.
"""

from __future__ import annotations

import ipaddress
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import quote

from itsdangerous import BadSignature, Signer
from sqlalchemy import bindparam, case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from helpdesk.campaigns.models import (
    CampaignLink,
    ClickEvent,
    Delivery,
    OpenEvent,
    TrackingBatch,
)
from helpdesk.campaigns.suppression import unsubscribe_customer
from helpdesk.db import UTCDateTime, chunks

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


# --- buffered events --------------------------------------------------------------------


def open_event(token: str, at: datetime, user_agent: str, remote_ip: str) -> str:
    """An open as the flush job reads it back: whether it was a machine's is decided
    there, against the delivery's sending time."""
    return json.dumps(["o", token, at.timestamp(), user_agent[:500], remote_ip])


def click_event(token: str, position: int, at: datetime, user_agent: str) -> str:
    return json.dumps(["c", token, at.timestamp(), user_agent[:500], position])


@dataclass(frozen=True)
class EventBatch:
    id: str
    events: list[bytes]


# Claims the next batch for one flusher: first a batch whose flusher has not answered
# within the lease (it died; its events must not be lost), else up to ARGV[1] new events,
# moved in one step from the list to the batch's own list and registered with the claim
# time. KEYS: events list, in-flight sorted set. ARGV: limit, new batch id, lease
# seconds, batch key prefix.
_CLAIM = """
local now = tonumber(redis.call('TIME')[1])
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]),
                         'LIMIT', 0, 1)
if #stale > 0 then
  redis.call('ZADD', KEYS[2], now, stale[1])
  return {stale[1], redis.call('LRANGE', ARGV[4] .. stale[1], 0, -1)}
end
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items == 0 then return false end
redis.call('LTRIM', KEYS[1], #items, -1)
for i = 1, #items, 500 do
  redis.call('RPUSH', ARGV[4] .. ARGV[2], unpack(items, i, math.min(i + 499, #items)))
end
redis.call('ZADD', KEYS[2], now, ARGV[2])
return {ARGV[2], items}
"""


# One command per event: append, and raise the pending flag when it is down (1 = the
# caller queues a flush job). KEYS: events list, pending flag. ARGV: event, flag expiry.
_PUSH = """
redis.call('RPUSH', KEYS[1], ARGV[1])
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', tonumber(ARGV[2])) then return 1 end
return 0
"""


@dataclass
class TrackingEventLog:
    """Opens and clicks waiting in Redis to be counted.

    A view `push`es; a flush job `claim`s a batch, applies it, commits and `ack`s it.
    A batch claimed and never acknowledged is handed out again after `lease_seconds`,
    and `apply_events` recognises a batch it already counted, so a flusher that dies at
    any point loses nothing and counts nothing twice.
    """

    redis: object
    prefix: str = "helpdesk:tracking"
    # A flush job is queued when an event finds this flag unset; it expires so that a
    # job lost with its worker cannot keep new jobs from being queued for long.
    pending_seconds: int = 60
    _claim: object = field(default=None, init=False, repr=False)
    _push: object = field(default=None, init=False, repr=False)

    @property
    def events_key(self) -> str:
        return f"{self.prefix}:events"

    @property
    def inflight_key(self) -> str:
        return f"{self.prefix}:inflight"

    @property
    def pending_key(self) -> str:
        return f"{self.prefix}:flush-pending"

    @property
    def batch_prefix(self) -> str:
        return f"{self.prefix}:batch:"

    def push(self, event: str) -> bool:
        """Append one event (one round trip); True when the caller should queue a flush."""
        if self._push is None:
            self._push = self.redis.register_script(_PUSH)
        return bool(
            self._push(keys=[self.events_key, self.pending_key], args=[event, self.pending_seconds])
        )

    def flush_queued_failed(self) -> None:
        """The job could not be queued: let the next event try again."""
        self.redis.delete(self.pending_key)

    def claim(self, limit: int, lease_seconds: int) -> EventBatch | None:
        if self._claim is None:
            self._claim = self.redis.register_script(_CLAIM)
        answer = self._claim(
            keys=[self.events_key, self.inflight_key],
            args=[limit, uuid.uuid4().hex, lease_seconds, self.batch_prefix],
        )
        if not answer:
            return None
        batch_id, events = answer
        return EventBatch(batch_id.decode() if isinstance(batch_id, bytes) else batch_id, events)

    def ack(self, batch_id: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self.batch_prefix + batch_id)
        pipe.zrem(self.inflight_key, batch_id)
        pipe.execute()

    def round_done(self) -> bool:
        """Called when a claim found nothing. Clears the pending flag, then looks once
        more: an event pushed meanwhile saw the flag set and queued no job, so this
        flusher goes on (True means nothing is left)."""
        self.redis.delete(self.pending_key)
        if self.redis.llen(self.events_key):
            self.redis.set(self.pending_key, 1, ex=self.pending_seconds)
            return False
        return True

    def schedule_recheck(self, lease_seconds: int) -> bool:
        """True for the one caller that should queue a look at in-flight batches once
        their lease is over; the others leave it to that one."""
        return bool(self.redis.set(f"{self.prefix}:recheck", 1, nx=True, ex=lease_seconds + 5))

    def in_flight(self) -> int:
        return int(self.redis.zcard(self.inflight_key))

    def waiting(self) -> int:
        """Events not yet counted: queued, or in a batch claimed and not acknowledged."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.llen(self.events_key)
        pipe.zcard(self.inflight_key)
        queued, inflight = pipe.execute()
        return int(queued) + int(inflight)


@dataclass
class AppliedEvents:
    opens: int = 0
    machine_opens: int = 0
    clicks: int = 0
    dropped: int = 0
    duplicate: bool = False


def apply_events(
    session: Session, batch_id: str | None, events: list, *, machine_window_s: int
) -> AppliedEvents:
    """Count a batch of buffered events, as `record_open` / `record_click` would have
    one by one: an OpenEvent / ClickEvent row each, and per delivery one UPDATE of its
    counters and first-open / first-click times.

    The batch id is written in the same transaction, and a batch whose id is already
    there is skipped. On PostgreSQL a second flusher applying the same batch at the same
    moment waits on that row and then fails with an IntegrityError; the caller finds
    the id committed and treats the batch as done. Events naming no delivery or link
    (a deleted campaign) are dropped.
    """
    result = AppliedEvents()
    if batch_id is not None:
        if batch_applied(session, batch_id):
            result.duplicate = True
            return result
        session.add(TrackingBatch(id=batch_id))
        session.flush()
    parsed = []
    for raw in events:
        try:
            kind, token, at, user_agent, extra = json.loads(raw)
            parsed.append(
                (kind, str(token), datetime.fromtimestamp(float(at), UTC), user_agent, extra)
            )
        except (ValueError, TypeError):
            result.dropped += 1
    deliveries = {}
    for chunk in chunks(sorted({event[1] for event in parsed})):
        for row in session.execute(
            select(Delivery.id, Delivery.token, Delivery.sent_at, Delivery.campaign_id).where(
                Delivery.token.in_(chunk)
            )
        ):
            deliveries[row.token] = row
    link_ids = {}
    click_campaigns = sorted(
        {deliveries[e[1]].campaign_id for e in parsed if e[0] == "c" and e[1] in deliveries}
    )
    for chunk in chunks(click_campaigns):
        for link_id, campaign_id, position in session.execute(
            select(CampaignLink.id, CampaignLink.campaign_id, CampaignLink.position).where(
                CampaignLink.campaign_id.in_(chunk)
            )
        ):
            link_ids[(campaign_id, position)] = link_id

    open_rows, click_rows = [], []
    opens: dict[int, list] = {}  # delivery id -> [human, machine, first human open]
    clicks: dict[int, list] = {}  # delivery id -> [clicks, first click]
    for kind, token, at, user_agent, extra in parsed:
        delivery = deliveries.get(token)
        if delivery is None:
            result.dropped += 1
            continue
        if kind == "o":
            machine = is_machine_open(
                user_agent, str(extra), delivery.sent_at, at, machine_window_s
            )
            open_rows.append(
                {
                    "delivery_id": delivery.id,
                    "at": at,
                    "is_machine": machine,
                    "user_agent": user_agent,
                }
            )
            counts = opens.setdefault(delivery.id, [0, 0, None])
            if machine:
                counts[1] += 1
                result.machine_opens += 1
            else:
                counts[0] += 1
                counts[2] = at if counts[2] is None else min(counts[2], at)
                result.opens += 1
        elif kind == "c":
            link_id = link_ids.get((delivery.campaign_id, extra))
            if link_id is None:
                result.dropped += 1
                continue
            click_rows.append(
                {"delivery_id": delivery.id, "link_id": link_id, "at": at, "user_agent": user_agent}
            )
            counts = clicks.setdefault(delivery.id, [0, None])
            counts[0] += 1
            counts[1] = at if counts[1] is None else min(counts[1], at)
            result.clicks += 1
        else:
            result.dropped += 1
    if open_rows:
        session.execute(insert(OpenEvent), open_rows)
    if click_rows:
        session.execute(insert(ClickEvent), click_rows)
    table = Delivery.__table__
    # Rows are updated in id order, so two flushers never wait on each other in a cycle.
    if opens:
        session.execute(
            table.update()
            .where(table.c.id == bindparam("delivery_id"))
            .values(
                open_count=table.c.open_count + bindparam("humans"),
                machine_open_count=table.c.machine_open_count + bindparam("machines"),
                first_opened_at=func.coalesce(
                    table.c.first_opened_at, bindparam("first_at", type_=UTCDateTime())
                ),
            ),
            [
                {"delivery_id": d, "humans": h, "machines": m, "first_at": first}
                for d, (h, m, first) in sorted(opens.items())
            ],
        )
    if clicks:
        session.execute(
            table.update()
            .where(table.c.id == bindparam("delivery_id"))
            .values(
                click_count=table.c.click_count + bindparam("clicks"),
                first_clicked_at=func.coalesce(
                    table.c.first_clicked_at, bindparam("first_at", type_=UTCDateTime())
                ),
            ),
            [
                {"delivery_id": d, "clicks": n, "first_at": first}
                for d, (n, first) in sorted(clicks.items())
            ],
        )
    return result


def batch_applied(session: Session, batch_id: str) -> bool:
    return session.get(TrackingBatch, batch_id) is not None


def forget_applied_batches(session: Session, older_than: datetime) -> int:
    """Batch ids are only needed while a batch could still be handed out again."""
    return session.execute(
        delete(TrackingBatch).where(TrackingBatch.applied_at < older_than)
    ).rowcount
