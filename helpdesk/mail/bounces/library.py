"""GNU Mailman's bounce detectors (flufl.bounce), for the MTA formats they know and we read
no better: asked only about mail that already looks like a report, and given a copy of it
cut down to its headers and the first characters of each part, so a large returned message
costs nothing (its detectors run one pattern per line per format)."""

from __future__ import annotations

from email.message import Message

from flufl.bounce import all_failures

from helpdesk.mail.bounces.dsn import address

_PART_LIMIT = 16 * 1024
_MAX_PARTS = 50


def library_failures(msg: Message) -> tuple[list[str], list[str]]:
    """(temporary, permanent) failed recipients flufl.bounce finds, sorted; never raises."""
    try:
        temporary, permanent = all_failures(_slim(msg, [_MAX_PARTS]))
    except Exception:
        # A detector that trips over a malformed mail must not stop classification.
        return [], []
    return _decoded(temporary), _decoded(permanent)


def _decoded(found) -> list[str]:
    addresses = (address(value.decode("ascii", "replace")) for value in found)
    return sorted({a for a in addresses if a})


def _slim(part: Message, budget: list[int], top: bool = True) -> Message:
    copy = Message()
    for name, value in part.raw_items():
        copy[name] = str(value)
    if top and copy.get("from") is None:
        # flufl.bounce 6.0's Yale detector raises IndexError on a mail without From.
        copy["From"] = "<>"
    payload = part.get_payload()
    if isinstance(payload, list):
        if part.get_content_maintype() == "message" and part.get_content_type() not in (
            "message/delivery-status",
            "message/global-delivery-status",
        ):
            # The returned message: its headers are all a detector reads.
            payload = [_headers_only(p) for p in payload[:1] if isinstance(p, Message)]
        else:
            kept = []
            for sub in payload:
                if budget[0] <= 0:
                    break
                if isinstance(sub, Message):
                    budget[0] -= 1
                    kept.append(_slim(sub, budget, top=False))
            payload = kept
        copy.set_payload(payload)
    elif isinstance(payload, str):
        copy.set_payload(payload[:_PART_LIMIT])
    return copy


def _headers_only(part: Message) -> Message:
    copy = Message()
    for name, value in part.raw_items():
        copy[name] = str(value)
    copy.set_payload("")
    return copy
