"""Amazon SES bounce, complaint, delay and delivery notifications delivered by mail through
SNS: the bare notification (SNS "email" subscriptions, followed by SNS's footer) or wrapped
in SNS's JSON envelope ("email-json"), as notifications or as event publishing records."""

from __future__ import annotations

import json
from dataclasses import dataclass

from helpdesk.mail.bounces.dsn import address
from helpdesk.mail.bounces.ids import message_ids
from helpdesk.mail.bounces.wording import status_in_field

_MAX_JSON = 512 * 1024


@dataclass(frozen=True)
class Notification:
    kind: str  # bounce, delivery_receipt, complaint
    recipients: tuple[str, ...]
    status: str | None
    hard: bool
    diagnostic: str
    original_message_id: str | None


def notification(text: str) -> Notification | None:
    start = text.lstrip()
    if not start.startswith("{") or len(start) > _MAX_JSON:
        return None
    try:
        data, _ = json.JSONDecoder().raw_decode(start)
        if isinstance(data, dict) and data.get("Type") == "Notification":
            data = json.loads(data.get("Message") or "")
    except (ValueError, TypeError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    event = data.get("notificationType") or data.get("eventType")
    original_id = _original_message_id(data.get("mail"))
    if event == "Bounce":
        bounce = _object(data, "bounce")
        entries = _entries(bounce, "bouncedRecipients")
        status = _first_status(entries)
        bounce_type = _str(bounce, "bounceType")
        hard = status.startswith("5") if status else bounce_type != "Transient"
        return _made("bounce", entries, status, hard, original_id)
    if event == "DeliveryDelay":
        entries = _entries(_object(data, "deliveryDelay"), "delayedRecipients")
        return _made("bounce", entries, _first_status(entries), False, original_id)
    if event == "Complaint":
        complaint = _object(data, "complaint")
        entries = _entries(complaint, "complainedRecipients")
        feedback_type = _str(complaint, "complaintFeedbackType") or "abuse"
        recipients = _addresses(entries)
        return Notification("complaint", recipients, None, True, feedback_type, original_id)
    if event == "Delivery":
        delivery = _object(data, "delivery")
        recipients = delivery.get("recipients")
        entries = [{"emailAddress": r} for r in recipients] if isinstance(recipients, list) else []
        response = _str(delivery, "smtpResponse")
        status = status_in_field(response)
        return Notification(
            "delivery_receipt", _addresses(entries), status, False, response, original_id
        )
    return None


def _made(kind: str, entries: list[dict], status, hard: bool, original_id) -> Notification:
    diagnostic = next((_str(e, "diagnosticCode") for e in entries if _str(e, "diagnosticCode")), "")
    if ";" in diagnostic:
        diagnostic = diagnostic.split(";", 1)[1].strip()
    return Notification(kind, _addresses(entries), status, hard, diagnostic, original_id)


def _first_status(entries: list[dict]) -> str | None:
    return next((status_in_field(_str(e, "status")) for e in entries if _str(e, "status")), None)


def _addresses(entries: list[dict]) -> tuple[str, ...]:
    found = (address(_str(e, "emailAddress")) for e in entries)
    return tuple(dict.fromkeys(a for a in found if a))


def _object(data: dict, name: str) -> dict:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def _entries(data: dict, name: str) -> list[dict]:
    value = data.get(name)
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


def _str(data: dict, name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""


def _original_message_id(mail) -> str | None:
    if not isinstance(mail, dict):
        return None
    common = _object(mail, "commonHeaders")
    ids = message_ids(_str(common, "messageId"))
    if not ids:
        for header in _entries(mail, "headers"):
            if _str(header, "name").lower() == "message-id":
                ids = message_ids(_str(header, "value"))
                break
    return ids[0] if ids else None
