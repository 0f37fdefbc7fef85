"""Tells normal mail from auto-replies, bounces, delivery receipts and spam complaints, from
the parsed MIME tree and the decoded top-level headers.

Delivery reports are read by helpdesk.mail.bounces (structure first, then the wording of
mail systems); auto-replies by their headers and subjects (RFC 3834 and what predates it)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from email.message import Message

from helpdesk.mail.bounces import message_ids, read_report

__all__ = ["Bounce", "Classification", "Kind", "classify", "message_ids"]


class Kind(enum.StrEnum):
    normal = "normal"
    auto_reply = "auto_reply"
    bounce = "bounce"
    complaint = "complaint"
    # A DSN saying the mail was delivered, relayed or expanded: neither a bounce nor a ticket.
    delivery_receipt = "delivery_receipt"


@dataclass(frozen=True)
class Bounce:
    """What a delivery report says about mail we sent: for a bounce the failed recipients,
    for a receipt the recipients it reached, for a complaint the one who complained.

    `recipient` is the first of `recipients`; `hard` is a permanent failure (a complaint
    counts as one); `status` the enhanced status code (RFC 3463) when the report gives one."""

    recipient: str | None
    status: str | None
    hard: bool
    diagnostic: str
    original_message_id: str | None
    recipients: tuple[str, ...] = ()

    def __post_init__(self):
        if not self.recipients and self.recipient:
            object.__setattr__(self, "recipients", (self.recipient,))


@dataclass(frozen=True)
class Classification:
    kind: Kind
    auto_reply_reason: str | None = None
    bounce: Bounce | None = None
    complaint_recipient: str | None = None


_PRECEDENCE_AUTOMATIC = {"bulk", "junk", "list", "auto_reply"}
# Subjects that auto-responders put first; matched only as a prefix, so a customer asking
# "Are you out of office hours?" stays a normal mail.
_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto-?reply|out of (the )?office|autoreply|automatische antwort"
    r"|abwesenheitsnotiz|réponse automatique|absence du bureau|자동\s*회신|자동\s*응답"
    r"|부재\s*중\s*(자동)?\s*응답|自動返信|自動応答|不在通知)\s*[:\]：]"
    r"|^\s*[\[【](자동\s*응답|부재중|auto-?reply|自動返信|自動応答|不在)[\]】]",
    re.IGNORECASE,
)


def classify(
    msg: Message,
    headers: dict[str, str],
    sender: str | None,
    text: str,
    *,
    own_addresses: frozenset[str],
    loop_header: str,
) -> Classification:
    reason = _auto_reply_reason(headers, sender, own_addresses, loop_header)
    report = read_report(
        msg,
        headers,
        sender,
        text,
        own_addresses=frozenset(a.lower() for a in own_addresses),
        automatic=reason is not None,
    )
    if report is not None and report.kind == Kind.auto_reply:
        return Classification(Kind.auto_reply, auto_reply_reason=report.reason)
    if report is not None:
        first = report.recipients[0] if report.recipients else None
        bounce = Bounce(
            recipient=first,
            status=report.status,
            hard=report.hard,
            diagnostic=report.diagnostic,
            original_message_id=report.original_message_id,
            recipients=report.recipients,
        )
        return Classification(
            Kind(report.kind),
            bounce=bounce,
            complaint_recipient=first if report.kind == Kind.complaint else None,
        )
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
