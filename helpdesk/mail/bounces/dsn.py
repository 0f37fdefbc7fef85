"""Per-recipient fields of delivery status notifications (RFC 3464, RFC 6533): read from
message/delivery-status parts, or from the same fields written into a text part."""

from __future__ import annotations

import re
from dataclasses import dataclass

from helpdesk.mail.bounces.mime import field_blocks
from helpdesk.mail.bounces.wording import status_in_field

_RECIPIENT_FIELDS = ("final-recipient", "original-recipient", "x-actual-recipient")
_RECEIPT_ACTIONS = {"delivered", "relayed", "expanded"}
# RFC 6533 3.2: utf-8-addr-unitext writes characters it cannot carry as \x{HEX}.
_UNITEXT_ESCAPE = re.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}")


@dataclass(frozen=True)
class Record:
    recipient: str | None
    action: str  # failed, delayed, delivered, relayed, expanded, or "" when not given
    status: str | None
    diagnostic: str


def records(text: str) -> list[Record]:
    """The recipient blocks among a report's field blocks."""
    found = []
    for block in field_blocks(text):
        if not any(name in block for name in _RECIPIENT_FIELDS) and "action" not in block:
            continue
        recipient = next(
            (address(block[name]) for name in _RECIPIENT_FIELDS if address(block.get(name))),
            None,
        )
        diagnostic = block.get("diagnostic-code", "")
        if ";" in diagnostic:
            diagnostic = diagnostic.split(";", 1)[1].strip()
        status = status_in_field(block.get("status")) or status_in_field(diagnostic)
        action = _action(block.get("action", ""), status)
        found.append(Record(recipient, action, status, diagnostic))
    return found


def _action(value: str, status: str | None) -> str:
    words = value.strip().lower().split()
    action = words[0].rstrip(";,") if words else ""
    if action in ("failure", "error", "fail"):
        # OpenSMTPD writes "error"; others a noun.
        return "failed"
    if action in ("failed", "delayed") or action in _RECEIPT_ACTIONS:
        return action
    if status is not None:
        return {"5": "failed", "4": "delayed", "2": "delivered"}[status[0]]
    return ""


def address(value: str | None) -> str | None:
    """'rfc822; <User@Example.COM>' -> 'User@example.com'; 'utf-8; 用户@例子.广告' as is."""
    if not value:
        return None
    kind, semicolon, rest = value.partition(";")
    if semicolon:
        value = rest
        if kind.strip().lower() == "utf-8":
            value = _UNITEXT_ESCAPE.sub(_unescape, value)
    value = value.strip().strip("<>").strip()
    if not value or "@" not in value or len(value.split()) != 1 or len(value) > 320:
        return None
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def _unescape(match: re.Match[str]) -> str:
    code = int(match.group(1), 16)
    return chr(code) if code <= 0x10FFFF else "\ufffd"


def failed(found: list[Record]) -> list[Record]:
    return [r for r in found if r.action == "failed"]


def delayed(found: list[Record]) -> list[Record]:
    return [r for r in found if r.action == "delayed"]


def receipts(found: list[Record]) -> list[Record]:
    return [r for r in found if r.action in _RECEIPT_ACTIONS]
