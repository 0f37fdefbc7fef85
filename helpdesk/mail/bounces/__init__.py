"""Reads delivery reports: bounces, delivery receipts, spam complaints, and the automatic
mail that looks like them (read receipts, challenge-response requests).

Structure is read first: report parts (RFC 3464, 6533, 5965, 8098), SES notifications,
report fields, returned originals, then who sent the mail (origin.py). Only for mail from a
mail system are the fields in its text and its wording read (wording.py), with flufl.bounce
(library.py) for the formats it knows."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from helpdesk.mail.bounces import dsn, wording
from helpdesk.mail.bounces.feedback import COMPLAINT_TYPES, feedback
from helpdesk.mail.bounces.ids import message_ids
from helpdesk.mail.bounces.library import library_failures
from helpdesk.mail.bounces.mime import Parts, header_value, original_headers, part_text, walk
from helpdesk.mail.bounces.notifications import notification
from helpdesk.mail.bounces.origin import Origin, origin, returns_our_message

__all__ = ["Report", "message_ids", "read_report"]

_CHALLENGE_HEADERS = ("x-boxbe-", "x-spam-arrest", "x-spamarrest", "x-challenge", "x-bluebottle")
_CHALLENGE_SENDERS = {"noreply", "no-reply", "verify", "notify", "confirm", "boxtrapper"}
_MESSAGE_ID_LINE_PREFIX = "message-id:"


@dataclass(frozen=True)
class Report:
    kind: str  # bounce, delivery_receipt, complaint, or auto_reply (with a reason)
    recipients: tuple[str, ...] = ()
    status: str | None = None
    hard: bool = False
    diagnostic: str = ""
    original_message_id: str | None = None
    reason: str | None = None


def read_report(
    msg: Message,
    headers: dict[str, str],
    sender: str | None,
    text: str,
    *,
    own_addresses: frozenset[str],
    automatic: bool,
) -> Report | None:
    """The report this mail is, or None for mail a person wrote.

    `automatic`: the mail carries auto-reply markers (Auto-Submitted, an out-of-office
    subject, ...); wording alone then never makes it a bounce unless a mail system sent it.
    """
    parts = walk(msg)
    found = feedback(headers, parts)
    if found is not None:
        if found.feedback_type not in COMPLAINT_TYPES:
            return Report("auto_reply", reason=f"feedback report ({found.feedback_type})")
        recipients = (found.recipient,) if found.recipient else ()
        return Report(
            "complaint",
            recipients,
            hard=True,
            diagnostic=found.feedback_type,
            original_message_id=_original_message_id(parts, ""),
        )
    report_type = msg.get_param("report-type") if parts.content_type == "multipart/report" else None
    if parts.disposition or report_type == "disposition-notification":
        return Report("auto_reply", reason="read receipt (message disposition notification)")
    records = [r for part in parts.delivery_status for r in dsn.records(part_text(part))]
    report = _from_records(records, parts, text, own_addresses, sender, headers)
    if report is not None:
        return report
    sent = notification(text)
    if sent is not None:
        if sent.kind == "complaint" and sent.diagnostic not in COMPLAINT_TYPES:
            return Report("auto_reply", reason=f"feedback notification ({sent.diagnostic})")
        return Report(
            sent.kind,
            sent.recipients,
            sent.status,
            sent.hard,
            sent.diagnostic,
            sent.original_message_id,
        )
    who = origin(headers, sender, parts)
    challenge = _challenge(headers, sender, text, who, automatic)
    if challenge is not None:
        return challenge
    if who is Origin.person or (who is Origin.unclear and automatic):
        return None
    return _from_text(msg, headers, sender, text, parts, own_addresses, who)


def _from_records(
    records: list[dsn.Record],
    parts: Parts,
    text: str,
    own_addresses: frozenset[str],
    sender: str | None,
    headers: dict[str, str],
) -> Report | None:
    failed, delayed, receipts = dsn.failed(records), dsn.delayed(records), dsn.receipts(records)
    chosen = failed or delayed or receipts
    if not chosen:
        return None
    kind = "delivery_receipt" if chosen is receipts else "bounce"
    first = chosen[0]
    status = first.status
    # A delay is temporary whatever its status says.
    hard = bool(failed) and wording.is_hard(status, first.diagnostic)
    recipients = tuple(dict.fromkeys(r.recipient for r in chosen if r.recipient))
    if not recipients:
        recipients = _recipients_from_text(headers, sender, text, parts, own_addresses)
    return Report(
        kind,
        recipients,
        status,
        hard,
        first.diagnostic[:1000],
        _original_message_id(parts, text),
    )


def _from_text(
    msg: Message,
    headers: dict[str, str],
    sender: str | None,
    text: str,
    parts: Parts,
    own_addresses: frozenset[str],
    who: Origin,
) -> Report | None:
    explanation = wording.explanation(text)
    # Fields written into the text, as some gateways do: believed only from a mail system.
    records = dsn.records(explanation)
    report = _from_records(records, parts, text, own_addresses, sender, headers)
    if report is not None:
        return report
    failed_header = [
        a for a in (dsn.address(v) for v in headers.get("x-failed-recipients", "").split(",")) if a
    ]
    failure = wording.says_failure(explanation)
    delay = wording.says_delay(explanation)
    status = wording.status_in_text(explanation)
    recipients = failed_header or _recipients_from_text(
        headers, sender, explanation, parts, own_addresses, search_original=False
    )
    temporary, permanent = [], []
    reply_code = wording.reply_code_class(explanation)
    # The text must also name what failed (an address, a code) or return the message: a
    # postmaster writing about undeliverable mail is no bounce, nor is a null return path
    # alone; our own message returned counts even without a mail-system sender.
    concrete = bool(recipients or status or reply_code) or (
        returns_our_message(parts) if who is Origin.unclear else bool(parts.originals)
    )
    said = failure or delay or (who is Origin.mail_system and reply_code is not None)
    evidence = concrete and (said or bool(failed_header))
    if not evidence and recipients and wording.says_receipt(explanation):
        return Report("delivery_receipt", tuple(recipients), status, False, "")
    if not evidence and who is Origin.unclear:
        return None
    if not evidence or not recipients:
        # A mail system's format we do not read, or one that names nobody we could find.
        temporary, permanent = library_failures(msg)
        if not evidence and not (temporary or permanent):
            return None
        recipients = recipients or permanent or temporary
    if not recipients:
        recipients = list(_recipients_from_original(parts, own_addresses))
    delay = delay or (bool(temporary) and not permanent and not failure)
    diagnostic = wording.diagnostic_line(explanation)
    hard = wording.is_hard(status, diagnostic or explanation, delayed=delay)
    return Report(
        "bounce",
        tuple(dict.fromkeys(recipients)),
        status,
        hard,
        diagnostic,
        _original_message_id(parts, text),
    )


def _recipients_from_text(
    headers: dict[str, str],
    sender: str | None,
    text: str,
    parts: Parts,
    own_addresses: frozenset[str],
    *,
    search_original: bool = True,
) -> tuple[str, ...]:
    excluded = {a.lower() for a in own_addresses}
    if sender:
        excluded.add(sender.lower())
    for name in ("to", "delivered-to", "x-original-to", "cc"):
        excluded.update(a.lower() for a in wording.addresses(headers.get(name, ""), set()))
    original = original_headers(parts)
    for name in ("from", "sender", "reply-to", "return-path"):
        value = header_value(original, name)
        excluded.update(a.lower() for a in wording.addresses(value or "", set()))
    found = [dsn.address(a) for a in wording.addresses(wording.explanation(text), excluded)]
    recipients = tuple(a for a in found if a)
    if not recipients and search_original:
        recipients = _recipients_from_original(parts, own_addresses)
    return recipients


def _recipients_from_original(parts: Parts, own_addresses: frozenset[str]) -> tuple[str, ...]:
    """The returned message's single recipient, when the report names nobody."""
    to = wording.addresses(header_value(original_headers(parts), "to") or "", set())
    if len(to) != 1 or to[0].lower() in own_addresses:
        return ()
    found = dsn.address(to[0])
    return (found,) if found else ()


def _original_message_id(parts: Parts, text: str) -> str | None:
    ids = message_ids(header_value(original_headers(parts), "message-id"))
    if not ids and text:
        # Exim, qmail and others quote the returned message inline, below the explanation.
        for line in text[: wording.EXPLANATION_LIMIT * 4].splitlines():
            if line[:11].lower() == _MESSAGE_ID_LINE_PREFIX:
                ids = message_ids(line[11:])
                break
    return ids[0] if ids else None


def _challenge(
    headers: dict[str, str], sender: str | None, text: str, who: Origin, automatic: bool
) -> Report | None:
    """Challenge-response systems hold our mail until we prove we are a person: automatic
    mail to record, not a bounce (nothing failed) and not a customer's question."""
    marked = next((name for name in headers if name.startswith(_CHALLENGE_HEADERS)), None)
    if marked is None and headers.get("x-delivery-agent", "").lower().startswith("tmda"):
        marked = "x-delivery-agent"
    if marked is not None:
        return Report("auto_reply", reason=f"challenge-response ({marked} header)")
    local = (sender or "").rpartition("@")[0].lower()
    automated = automatic or who is not Origin.person or local in _CHALLENGE_SENDERS
    opening = text[:4096]
    if automated and wording.says_challenge(opening) and not wording.says_failure(opening):
        return Report("auto_reply", reason="challenge-response request")
    return None
