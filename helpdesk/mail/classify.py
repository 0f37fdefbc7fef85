"""Tells normal mail from auto-replies, bounces (DSNs) and spam complaints (ARF), from the
parsed MIME tree and the decoded top-level headers."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser


class Kind(enum.StrEnum):
    normal = "normal"
    auto_reply = "auto_reply"
    bounce = "bounce"
    complaint = "complaint"


@dataclass(frozen=True)
class Bounce:
    recipient: str | None
    status: str | None
    hard: bool
    diagnostic: str
    original_message_id: str | None


@dataclass(frozen=True)
class Classification:
    kind: Kind
    auto_reply_reason: str | None = None
    bounce: Bounce | None = None
    complaint_recipient: str | None = None


_ID_IN_BRACKETS = re.compile(r"<([^<>]+)>")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_REPLY = re.compile(r"\b([45])\d\d\b")
# The lookbehind keeps the scan linear: a match may only start where a run of
# address characters starts.
_EMAIL = re.compile(r"(?<![\w.+'=-])[\w.+'=-]+@[\w-]+(?:\.[\w-]+)+")
# Bounce explanations come first; nothing past this is looked at.
_BOUNCE_TEXT_LIMIT = 50_000
_PRECEDENCE_AUTOMATIC = {"bulk", "junk", "list", "auto_reply"}
_DAEMON_LOCALPARTS = {"mailer-daemon", "postmaster"}
# Subjects that auto-responders put first; matched only as a prefix, so a customer asking
# "Are you out of office hours?" stays a normal mail.
_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto-?reply|out of (the )?office|autoreply|자동\s*회신|자동\s*응답"
    r"|부재\s*중\s*(자동)?\s*응답)\s*[:\]]|^\s*\[(자동\s*응답|부재중|auto-?reply)\]",
    re.IGNORECASE,
)
_BOUNCE_BODY = re.compile(
    r"could not be delivered|delivery (has )?failed|undeliverable|undelivered mail"
    r"|delivery status notification \(failure\)|permanent(ly)? (error|fatal)"
    r"|user unknown|mailbox (unavailable|not found|does not exist)|returned mail"
    r"|message not delivered|failed permanently|delivery to the following recipients? "
    r"(has been delayed|failed)|technical details of (temporary|permanent) failure",
    re.IGNORECASE,
)
_SOFT_WORDS = re.compile(
    r"temporar(y|ily)|delayed|will (be )?retr(y|ied)|still trying|not yet been delivered",
    re.IGNORECASE,
)
_MESSAGE_ID_LINE = re.compile(r"^Message-ID:[ \t]*(.+)$", re.IGNORECASE | re.MULTILINE)


def message_ids(value: str | None) -> list[str]:
    """Ids from a Message-ID/In-Reply-To/References value, without angle brackets."""
    if not value:
        return []
    ids = ["".join(found.split()) for found in _ID_IN_BRACKETS.findall(value)]
    if not ids:
        # Some mailers drop the brackets; take bare tokens that look like ids.
        ids = [token for token in value.split() if "@" in token]
    return [i for i in ids if i]


def classify(
    msg: Message,
    headers: dict[str, str],
    sender: str | None,
    text: str,
    *,
    own_addresses: frozenset[str],
    loop_header: str,
) -> Classification:
    report_type = _report_type(msg)
    if report_type == "feedback-report":
        return Classification(Kind.complaint, complaint_recipient=_complaint_recipient(msg))
    bounce = _bounce(msg, headers, sender, text, report_type)
    if bounce is not None:
        return Classification(Kind.bounce, bounce=bounce)
    reason = _auto_reply_reason(headers, sender, own_addresses, loop_header)
    if reason is not None:
        return Classification(Kind.auto_reply, auto_reply_reason=reason)
    return Classification(Kind.normal)


def _auto_reply_reason(
    headers: dict[str, str], sender: str | None, own_addresses: frozenset[str], loop_header: str
) -> str | None:
    if loop_header.lower() in headers:
        return f"loop header {loop_header} present"
    if sender and sender.lower() in {a.lower() for a in own_addresses}:
        return f"sent from our own address {sender}"
    auto_submitted = headers.get("auto-submitted", "").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in _PRECEDENCE_AUTOMATIC:
        return f"Precedence: {precedence}"
    # RFC 3834 predates these; they are what Exchange and older autoresponders send.
    for name, label in (
        ("x-autoreply", "X-Autoreply"),
        ("x-autorespond", "X-Autorespond"),
        ("x-auto-response-suppress", "X-Auto-Response-Suppress"),
    ):
        if name in headers:
            return f"{label}: {headers[name]}".rstrip(": ")
    if "list-id" in headers:
        return f"List-Id: {headers['list-id']}"
    if _AUTO_SUBJECT.search(headers.get("subject", "")):
        return f"auto-reply subject: {headers['subject']}"
    return None


def _report_type(msg: Message) -> str | None:
    if msg.get_content_type() != "multipart/report":
        return None
    value = msg.get_param("report-type")
    return value.strip().lower() if isinstance(value, str) else None


def _bounce(
    msg: Message, headers: dict[str, str], sender: str | None, text: str, report_type: str | None
) -> Bounce | None:
    if report_type == "delivery-status":
        for part in msg.walk():
            if part.get_content_type() == "message/delivery-status":
                return _bounce_from_report(part, msg)
    if not _from_mail_system(headers, sender):
        return None
    failed = headers.get("x-failed-recipients", "").split(",")[0].strip() or None
    if failed is None and not _BOUNCE_BODY.search(text[:_BOUNCE_TEXT_LIMIT]):
        return None
    return _bounce_from_text(text, failed, msg, sender)


def _from_mail_system(headers: dict[str, str], sender: str | None) -> bool:
    if headers.get("return-path", "").strip() == "<>":
        return True
    local = (sender or "").split("@")[0].lower()
    return local in _DAEMON_LOCALPARTS


def _bounce_from_report(report: Message, msg: Message) -> Bounce:
    blocks = _field_blocks(report)
    recipients = blocks[1:] or blocks
    chosen = next(
        (b for b in recipients if b.get("action", "").lower() == "failed"),
        recipients[0] if recipients else {},
    )
    recipient = _address_field(chosen.get("final-recipient") or chosen.get("original-recipient"))
    diagnostic = chosen.get("diagnostic-code", "")
    if ";" in diagnostic:
        diagnostic = diagnostic.split(";", 1)[1].strip()
    status = _status(chosen.get("status", "")) or _status(diagnostic)
    if status is not None:
        hard = status.startswith("5")
    else:
        hard = chosen.get("action", "failed").lower() == "failed"
    return Bounce(
        recipient=recipient,
        status=status,
        hard=hard,
        diagnostic=diagnostic,
        original_message_id=_original_message_id(msg, ""),
    )


def _bounce_from_text(text: str, failed: str | None, msg: Message, sender: str | None) -> Bounce:
    text = text[:_BOUNCE_TEXT_LIMIT]
    recipient = failed
    if recipient is None:
        own = (sender or "").lower()
        recipient = next((e for e in _EMAIL.findall(text) if e.lower() != own), None)
    status = _status(text)
    diagnostic = _diagnostic_line(text)
    if status is not None:
        hard = status.startswith("5")
    else:
        smtp = _SMTP_REPLY.search(diagnostic)
        hard = smtp.group(1) == "5" if smtp else not _SOFT_WORDS.search(text)
    return Bounce(
        recipient=_address_field(recipient),
        status=status,
        hard=hard,
        diagnostic=diagnostic,
        original_message_id=_original_message_id(msg, text),
    )


def _diagnostic_line(text: str) -> str:
    for line in text.splitlines():
        stripped = line.strip()
        if _STATUS.search(stripped) or re.match(r"^[45]\d\d[ -]", stripped):
            return stripped
    return ""


def _status(value: str) -> str | None:
    found = _STATUS.search(value or "")
    return ".".join(found.groups()) if found else None


def _address_field(value: str | None) -> str | None:
    """'rfc822; <User@Example.COM>' -> 'User@example.com'."""
    if not value:
        return None
    if ";" in value:
        value = value.split(";", 1)[1]
    value = value.strip().strip("<>").strip()
    if not value:
        return None
    local, at, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}" if at else value


def _field_blocks(part: Message) -> list[dict[str, str]]:
    """The header blocks of a message/delivery-status or message/feedback-report part.

    The stdlib splits these into sub-messages; when it could not, the payload is text."""
    payload = part.get_payload()
    blocks: list[dict[str, str]] = []
    if isinstance(payload, list):
        for sub in payload:
            if isinstance(sub, Message):
                fields: dict[str, str] = {}
                for name, value in sub.raw_items():
                    fields.setdefault(name.lower(), _unfold(str(value)))
                blocks.append(fields)
        return blocks
    current: dict[str, str] = {}
    last = None
    for line in str(payload).splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, None
        elif line[0] in " \t" and last is not None:
            current[last] += " " + line.strip()
        elif ":" in line:
            name, value = line.split(":", 1)
            last = name.strip().lower()
            current.setdefault(last, value.strip())
    if current:
        blocks.append(current)
    return blocks


def _unfold(value: str) -> str:
    return " ".join(value.split())


def _original_headers(msg: Message) -> Message | None:
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
        if ctype in ("text/rfc822-headers", "message/rfc822-headers"):
            raw = part.get_payload(decode=True) or b""
            return HeaderParser().parsestr(raw.decode("utf-8", "replace"))
    return None


def _original_header(msg: Message, name: str) -> str | None:
    original = _original_headers(msg)
    if original is None:
        return None
    for key, value in original.raw_items():
        if key.lower() == name:
            return _unfold(str(value))
    return None


def _original_message_id(msg: Message, text: str) -> str | None:
    ids = message_ids(_original_header(msg, "message-id"))
    if not ids and text:
        # Exim and qmail quote the returned message inline, below the explanation.
        found = _MESSAGE_ID_LINE.search(text)
        ids = message_ids(found.group(1)) if found else []
    return ids[0] if ids else None


def _complaint_recipient(msg: Message) -> str | None:
    for part in msg.walk():
        if part.get_content_type() == "message/feedback-report":
            for block in _field_blocks(part):
                recipient = _address_field(block.get("original-rcpt-to"))
                if recipient:
                    return recipient
    original_to = _original_header(msg, "to")
    if original_to:
        found = _EMAIL.search(original_to)
        return _address_field(found.group(0)) if found else None
    return None
