"""Signed ticket references in our outgoing mail, so replies find their ticket.

Our Message-IDs and the body marker carry the ticket id with an HMAC over it: a reply
threads even when the referenced row is unknown (a relay kept its own copy, the row was
purged), and nobody can attach mail to another customer's ticket by guessing a number.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

_SIGNATURE_LENGTH = 10
# Ticket ids are 32-bit integer columns; a larger number in a header would make
# PostgreSQL refuse the lookup rather than find nothing.
MAX_TICKET_ID = 2**31 - 1

_MESSAGE_ID = re.compile(
    r"^<?helpdesk\.t(?P<ticket>[0-9]{1,10})\.(?P<nonce>[0-9a-f]{1,64})\.(?P<sig>[0-9a-f]{10})@",
    re.IGNORECASE,
)
_BODY_MARKER = re.compile(r"\[ref:T(?P<ticket>[0-9]{1,10})-(?P<sig>[0-9a-f]{10})\]", re.IGNORECASE)


def _signature(secret: str, purpose: str, payload: str) -> str:
    # The purpose keeps these signatures from being valid for any other use of the secret.
    key = hashlib.sha256(f"helpdesk.threading.{purpose}:{secret}".encode()).digest()
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()[:_SIGNATURE_LENGTH]


def _valid_ticket_id(raw: str) -> int | None:
    ticket_id = int(raw)
    return ticket_id if 0 < ticket_id <= MAX_TICKET_ID else None


def make_message_id(ticket_id: int, secret: str, domain: str) -> str:
    """A Message-ID (without angle brackets) naming the ticket, e.g.
    ``helpdesk.t123.8f3a9c1d2b4e6f70.a1b2c3d4e5@help.example.com``."""
    nonce = secrets.token_hex(8)
    signature = _signature(secret, "message-id", f"t{ticket_id}.{nonce}")
    return f"helpdesk.t{ticket_id}.{nonce}.{signature}@{domain}"


def ticket_id_from_message_id(message_id: str, secret: str) -> int | None:
    """The ticket id from one of our Message-IDs, or None if it is not ours or forged."""
    match = _MESSAGE_ID.match(message_id.strip())
    if match is None:
        return None
    ticket, nonce = match["ticket"], match["nonce"].lower()
    expected = _signature(secret, "message-id", f"t{int(ticket)}.{nonce}")
    if not hmac.compare_digest(expected, match["sig"].lower()):
        return None
    return _valid_ticket_id(ticket)


def make_body_marker(ticket_id: int, secret: str) -> str:
    """The reference our outgoing mail carries in its footer, e.g. ``[ref:T123-a1b2c3d4e5]``.

    Some relays and mail clients replace Message-IDs and drop References; quoted text
    usually survives, so this still finds the ticket.
    """
    return f"[ref:T{ticket_id}-{_signature(secret, 'body-marker', f'T{ticket_id}')}]"


def ticket_id_from_body(text: str, secret: str) -> int | None:
    """The ticket id of the first correctly signed body marker in the text, if any."""
    for match in _BODY_MARKER.finditer(text or ""):
        ticket = match["ticket"]
        expected = _signature(secret, "body-marker", f"T{int(ticket)}")
        if hmac.compare_digest(expected, match["sig"].lower()):
            ticket_id = _valid_ticket_id(ticket)
            if ticket_id is not None:
                return ticket_id
    return None
