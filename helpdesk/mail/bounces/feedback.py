"""Spam complaints: ARF feedback reports (RFC 5965) in their standard and their common
broken shapes, and Microsoft's JMRP reports, which carry no feedback part at all."""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.mail.bounces.dsn import address
from helpdesk.mail.bounces.mime import (
    Parts,
    field_blocks,
    header_value,
    original_headers,
    part_text,
)
from helpdesk.mail.bounces.wording import first_address

# Feedback types that report a person's complaint; the others (not-spam, auth-failure) are
# automatic reports nobody needs to answer.
COMPLAINT_TYPES = {"abuse", "fraud", "virus", "other", "opt-out", "complaint"}
_RECIPIENT_FIELDS = ("original-rcpt-to", "removal-recipient")
_JMRP_HEADER = "x-hmxmroriginalrecipient"
# Providers that hide who complained write a placeholder in the original's To.
_REDACTED_LOCAL_PARTS = {"redacted", "undisclosed-recipients"}


@dataclass(frozen=True)
class Feedback:
    feedback_type: str
    recipient: str | None


def feedback(headers: dict[str, str], parts: Parts) -> Feedback | None:
    fields = _feedback_fields(parts)
    if fields is not None:
        recipient = next(
            (address(fields[name]) for name in _RECIPIENT_FIELDS if address(fields.get(name))),
            None,
        )
        words = fields["feedback-type"].split()
        feedback_type = words[0].lower() if words else ""
        return Feedback(feedback_type, recipient or _original_recipient(parts))
    jmrp = headers.get(_JMRP_HEADER) or header_value(original_headers(parts), _JMRP_HEADER)
    if jmrp:
        return Feedback("abuse", address(first_address(jmrp)))
    return None


def _feedback_fields(parts: Parts) -> dict[str, str] | None:
    for part in parts.feedback:
        for block in field_blocks(part_text(part)):
            if "feedback-type" in block:
                return block
    # A feedback part mislabelled as text: believed in a report or next to a returned
    # message, never in a lone text mail (a customer may paste one).
    if parts.content_type == "multipart/report" or parts.originals:
        for part in parts.texts:
            for block in field_blocks(part_text(part)):
                if "feedback-type" in block and ("version" in block or "user-agent" in block):
                    return block
    return None


def _original_recipient(parts: Parts) -> str | None:
    found = address(first_address(header_value(original_headers(parts), "to")))
    if found is None or found.rpartition("@")[0].lower() in _REDACTED_LOCAL_PARTS:
        return None
    return found
