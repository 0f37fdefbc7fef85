"""One recipient's campaign message as bytes on the wire: rendered for the customer,
links pointed at their signed redirects, the open pixel, the List-Unsubscribe headers, and
a fast writer for the MIME message that `build_message` would make.
"""

from __future__ import annotations

import binascii
import secrets
from email.generator import BytesGenerator
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from io import BytesIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.campaigns import rendering, tracking
from helpdesk.campaigns.advertising import AdNotice
from helpdesk.campaigns.models import Campaign, CampaignLink
from helpdesk.campaigns.sending import SendSettings
from helpdesk.campaigns.submission import OutgoingMessage
from helpdesk.db import utcnow
from helpdesk.mail.addresses import address_header_value
from helpdesk.mail.outbound import MESSAGE_POLICY, build_message
from helpdesk.maildomain import mail_domain


def load_content(session: Session, campaign_id: int) -> tuple[Campaign, dict[str, int]]:
    campaign = session.get(Campaign, campaign_id)
    links = {
        link.url: link.position
        for link in session.scalars(
            select(CampaignLink).where(CampaignLink.campaign_id == campaign_id)
        )
    }
    return campaign, links


def build_campaign_message(
    campaign: Campaign,
    links: dict[str, int],
    delivery_token: str,
    email: str,
    context: dict,
    settings: SendSettings,
    ad: AdNotice | None = None,
) -> OutgoingMessage:
    """The personalised message: what `build_message` would make of it, written out
    directly (see `_campaign_mime`), or made by `build_message` itself when an address
    or header needs more than that writer knows."""
    domain = mail_domain(settings.public_url, settings.mail_domain)
    urls = tracking.tracking_urls(
        settings.public_url, settings.secret_key, delivery_token, campaign.id
    )
    subject, html, text = rendering.render_for_delivery(
        campaign,
        context,
        {"unsubscribe_url": urls.unsubscribe_url, "view_in_browser_url": urls.view_in_browser_url},
    )
    if ad is not None:
        subject = ad.subject(subject)
        html = ad.add_html_footer(html, urls.unsubscribe_url)
        text += ad.text_footer(urls.unsubscribe_url)
    html = tracking.rewrite_links(html, links, urls)
    pixel = f'<img src="{urls.open_url}" width="1" height="1" alt="" style="border:0">'
    html = html.replace("</body>", pixel + "</body>", 1) if "</body>" in html else html + pixel
    headers = {
        "List-Unsubscribe": (
            f"<{urls.unsubscribe_url}>, <{tracking.unsubscribe_mailto(delivery_token, domain)}>"
        ),
        # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" to the https URL.
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Precedence": "bulk",
    }
    if campaign.reply_to:
        headers["Reply-To"] = campaign.reply_to
    message_id = f"<campaign.{campaign.id}.{delivery_token}@{domain}>"
    mail_from = f"bounces+{delivery_token}@{domain}"
    try:
        data = _campaign_mime(
            campaign.from_name, campaign.from_email, email, subject, text, html, headers, message_id
        )
    except _BeyondTheFastWriter:
        sender = Address(display_name=campaign.from_name, addr_spec=campaign.from_email)
        message = build_message(
            sender, email, subject, text, html, headers=headers, message_id=message_id
        )
        data = _flatten(message)
    return OutgoingMessage(data, mail_from, message_id)


# Header values written as they are: long lines are allowed up to RFC 5322's 998, which
# keeps List-Unsubscribe's URLs intact (the email package folds a long URL into RFC 2047
# encoded words, which List-Unsubscribe parsers do not decode).
_FLATTEN_POLICY = MESSAGE_POLICY.clone(linesep="\r\n", max_line_length=998)


def _flatten(message: EmailMessage) -> bytes:
    buffer = BytesIO()
    BytesGenerator(buffer, policy=_FLATTEN_POLICY).flatten(message)
    return buffer.getvalue()


class _BeyondTheFastWriter(ValueError):
    """A value `_campaign_mime` does not write itself (a non-ASCII address, a line break
    in a header); `build_message` makes that message instead."""


def _plain_header(name: str, value: str) -> str:
    if not value.isascii() or "\r" in value or "\n" in value or len(name) + len(value) > 996:
        raise _BeyondTheFastWriter(name)
    return f"{name}: {value}\r\n"


# Non-ASCII header text is left to the email package: its RFC 2047 words keep within
# 75 characters and read back with the right spacing.
_RFC2047_POLICY = MESSAGE_POLICY.clone(linesep="\r\n")


@lru_cache(maxsize=1024)
def _encoded_header(name: str, value: str) -> str:
    message = EmailMessage(policy=_RFC2047_POLICY)
    message[name] = value
    return _RFC2047_POLICY.fold(name, message[name])


@lru_cache(maxsize=64)
def _address_header(name: str, display_name: str, address: str) -> str:
    """An address with its display name, written and proven by `address_header_value`
    (the email package's folding drops the quotes of long names); the same for every
    recipient, so it is made once per campaign."""
    if not address.isascii():
        raise _BeyondTheFastWriter(name)
    value = address_header_value(name, [Address(display_name=display_name, addr_spec=address)])
    return f"{name}: {value}\r\n".replace("\n ", "\r\n ")


def _text_header(name: str, value: str) -> str:
    """Unstructured text (the subject): folded at spaces; RFC 2047 words when not ASCII."""
    if "\r" in value or "\n" in value:
        raise _BeyondTheFastWriter(name)
    if not value.isascii():
        return _encoded_header(name, value)
    if len(name) + len(value) <= 76:
        return f"{name}: {value}\r\n"
    encoded = Header(value, "us-ascii", header_name=name).encode(linesep="\r\n")
    folded = f"{name}: {encoded}"
    if any(len(line) > 998 for line in folded.split("\r\n")):
        raise _BeyondTheFastWriter(name)
    return f"{folded}\r\n"


def _mime_part(content: str, subtype: str) -> str:
    """A text part as `build_message` makes it under a 7bit policy: as it is when ASCII
    with short lines, quoted-printable otherwise."""
    lines = content.replace("\r\n", "\n").replace("\r", "\n")
    if not lines.endswith("\n"):
        lines += "\n"
    if lines.isascii() and max(map(len, lines.split("\n"))) <= 78:
        encoding, body = "7bit", lines.replace("\n", "\r\n")
    else:
        encoding = "quoted-printable"
        body = binascii.b2a_qp(lines.encode(), istext=True).decode("ascii")
        body = body.replace("\n", "\r\n")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n{body}"
    )


def _campaign_mime(
    from_name: str,
    from_email: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    headers: dict[str, str],
    message_id: str,
) -> bytes:
    """The multipart/alternative message `build_message` would make, written directly.

    The email package parses and refolds every header on the way in and out, which costs
    milliseconds per message and is most of a campaign's sending time; these messages
    have a fixed shape, so they are written in one pass. Anything unusual raises
    `_BeyondTheFastWriter` and goes the long way.
    """
    parts = [_mime_part(text, "plain"), _mime_part(html, "html")]
    boundary = f"=_{secrets.token_hex(16)}"
    if any(boundary in part for part in parts):
        raise _BeyondTheFastWriter("boundary")
    head = [
        _address_header("From", from_name, from_email),
        _plain_header("To", to),
        _text_header("Subject", subject),
        _plain_header("Date", format_datetime(utcnow())),
        _plain_header("Message-ID", message_id),
        *(_plain_header(name, value) for name, value in headers.items()),
        "MIME-Version: 1.0\r\n",
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n',
    ]
    body = "".join(f"\r\n--{boundary}\r\n{part}" for part in parts)
    return f"{''.join(head)}{body}\r\n--{boundary}--\r\n".encode("ascii")
