"""Whether a mail comes from a mail system rather than a person: the evidence in its
envelope and headers, weighed before any of its wording is read.

The name and subject patterns are lower-case and run on lower-cased values (see wording.py)."""

from __future__ import annotations

import enum
import re

from helpdesk.mail.bounces.ids import has_verp_address, is_our_message_id, message_ids
from helpdesk.mail.bounces.mime import Parts, header_value, original_headers
from helpdesk.mail.bounces.wording import DAEMON_LOCAL_PART


class Origin(enum.IntEnum):
    person = 0
    # Null return path, no usable sender, a bounce-like subject or our own message returned:
    # a mail system is likely, its wording must still say what happened.
    unclear = 1
    mail_system = 2


_DAEMON_NAME = re.compile(
    r"mail delivery (?:sub)?system|mail delivery service|mailer[- ]daemon|\bpostmaster\b"
    r"|mail administrator|system administrator|\bmail system\b|courier mail server"
    r"|microsoft outlook|microsoft exchange|mail router|mail delivery agent"
    r"|메일\s*(?:전송|배달)?\s*시스템|시스템\s*관리자|メール(?:配送|配信)システム"
)
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:undeliverable|undelivered|returned mail|mail delivery failed|delivery status"
    r"|delivery (?:failure|report|notification|delayed|has failed|failed)|failure notice"
    r"|non-?delivery|nondeliverable|delayed mail|warning: (?:could not send|message)"
    r"|mail system error|\*\*message you sent|unzustellbar|zustellung verzögert|non remis"
    r"|remise différée|onbestelbaar|mensaje no entregado|mensagem não entregue"
    r"|messaggio non recapitato|недоставленное|退信|系统退信|配信|配送|返送|エラーメール"
    r"|반송|메일\s*(?:발송|전송|배달)|전송\s*(?:실패|지연))"
)
_ENVELOPE_HEADERS = ("to", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to")
_NULL_RETURN_PATHS = {"", "<>", "<mailer-daemon>", "mailer-daemon"}


def origin(headers: dict[str, str], sender: str | None, parts: Parts) -> Origin:
    """How sure we are that a mail system wrote this."""
    local = (sender or "").rpartition("@")[0]
    if (
        (local and DAEMON_LOCAL_PART.match(local))
        or _DAEMON_NAME.search(headers.get("from", "").lower())
        or "x-failed-recipients" in headers
        or "x-ms-exchange-message-is-ndr" in headers
        or parts.content_type == "multipart/report"
        or any(has_verp_address(headers.get(name)) for name in _ENVELOPE_HEADERS)
    ):
        return Origin.mail_system
    if (
        headers.get("return-path", "-").strip().lower() in _NULL_RETURN_PATHS
        or not sender
        or _BOUNCE_SUBJECT.search(headers.get("subject", "").lower())
        or returns_our_message(parts)
    ):
        return Origin.unclear
    return Origin.person


def returns_our_message(parts: Parts) -> bool:
    original = original_headers(parts)
    if original is None:
        return False
    if any(is_our_message_id(i) for i in message_ids(header_value(original, "message-id"))):
        return True
    return has_verp_address(header_value(original, "return-path"))
