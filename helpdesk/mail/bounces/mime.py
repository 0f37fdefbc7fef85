"""The parts of a mail that a report is made of, found in one bounded walk of the MIME tree,
and the field blocks (RFC 3464, RFC 5965) written in them.

The walk never enters an attached message: a bounce a customer forwards as an attachment
is the customer's mail, not a report to us."""

from __future__ import annotations

import binascii
import codecs
import quopri
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser

MAX_PARTS = 200
MAX_DEPTH = 30
# Reports are short; a part's first characters hold its fields and explanation.
PART_TEXT_LIMIT = 64 * 1024

_DELIVERY_STATUS = {"message/delivery-status", "message/global-delivery-status"}
_ORIGINALS = {
    "message/rfc822",
    "message/global",
    "text/rfc822-headers",
    "message/rfc822-headers",
    "message/global-headers",
}
# Charset labels whose Python codec reads more than the label promises (see parse.py).
_CODEC_ALIASES = {
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "shift_jis": "cp932",
    "gb2312": "gb18030",
    "iso-2022-jp": "iso2022_jp_ext",
}


@dataclass
class Parts:
    content_type: str = "text/plain"  # the top-level one
    delivery_status: list[Message] = field(default_factory=list)
    feedback: list[Message] = field(default_factory=list)
    disposition: list[Message] = field(default_factory=list)
    originals: list[Message] = field(default_factory=list)
    texts: list[Message] = field(default_factory=list)


def walk(msg: Message) -> Parts:
    parts = Parts(content_type=msg.get_content_type())
    pending = [(msg, 0)]
    seen = 0
    while pending and seen < MAX_PARTS:
        part, depth = pending.pop()
        seen += 1
        ctype = part.get_content_type()
        if ctype.startswith("multipart/"):
            children = part.get_payload()
            if isinstance(children, list) and depth < MAX_DEPTH:
                subparts = [p for p in children if isinstance(p, Message)]
                pending.extend((sub, depth + 1) for sub in reversed(subparts))
            continue
        if ctype in _DELIVERY_STATUS:
            parts.delivery_status.append(part)
        elif ctype == "message/feedback-report":
            parts.feedback.append(part)
        elif ctype == "message/disposition-notification":
            parts.disposition.append(part)
        elif ctype in _ORIGINALS:
            parts.originals.append(part)
        elif ctype == "text/plain":
            parts.texts.append(part)
    return parts


def part_text(part: Message) -> str:
    """A leaf part's body as text, decoded; a message/* part's field blocks as written."""
    payload = part.get_payload()
    if isinstance(payload, list):
        # The stdlib splits message/delivery-status into one sub-message per block, and
        # reads other message/* types as one message whose headers are the first block.
        # Bytes throughout: get_payload() without decode turns raw UTF-8 into U+FFFD.
        chunks = []
        for block in payload[:MAX_PARTS]:
            if isinstance(block, Message):
                for name, value in block.raw_items():
                    chunks.append(f"{name}: {value}\n".encode("utf-8", "surrogateescape"))
                chunks.append(b"\n")
                body = block.get_payload(decode=True)
                if isinstance(body, bytes):
                    chunks.append(body + b"\n")
        data = _transfer_decoded(b"".join(chunks)[: PART_TEXT_LIMIT * 4], part)
    else:
        data = part.get_payload(decode=True)
        data = data[: PART_TEXT_LIMIT * 4] if isinstance(data, bytes) else b""
    return _decode(data, part.get_param("charset"))[:PART_TEXT_LIMIT]


def _transfer_decoded(data: bytes, part: Message) -> bytes:
    """A message/* part's body under its Content-Transfer-Encoding (RFC 2045 allows only
    7bit, 8bit and binary there; relays re-encode them anyway)."""
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    try:
        if encoding == "base64":
            return binascii.a2b_base64(data)
        if encoding == "quoted-printable":
            return quopri.decodestring(data)
    except (binascii.Error, ValueError):
        return data
    return data


def _decode(data: bytes, charset) -> str:
    label = charset.strip().strip("\"'").lower() if isinstance(charset, str) else ""
    name = _CODEC_ALIASES.get(label, label)
    try:
        codec = codecs.lookup(name).name if name else "utf-8"
    except LookupError:
        codec = "utf-8"
    if codec == "ascii":
        # Field values may carry UTF-8 (RFC 6533) whatever the part declares.
        codec = "utf-8"
    return data.decode(codec, "replace").replace("\r\n", "\n")


def field_blocks(text: str) -> list[dict[str, str]]:
    """'Name: value' blocks separated by blank lines, with folded lines joined; the first
    value of a name in a block wins."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = None
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, None
        elif line[0] in " \t" and last is not None:
            current[last] = f"{current[last]} {line.strip()}"
        else:
            name, colon, value = line.partition(":")
            name = name.strip().lower()
            if colon and name and len(name) < 40 and " " not in name:
                last = name if name not in current else None
                if last is not None:
                    current[name] = value.strip()
            else:
                last = None
    if current:
        blocks.append(current)
    return blocks


def original_headers(parts: Parts) -> Message | None:
    """The headers of the returned message, from the first attached original."""
    for part in parts.originals:
        payload = part.get_payload()
        if isinstance(payload, list):
            if payload and isinstance(payload[0], Message):
                return payload[0]
            continue
        return HeaderParser().parsestr(part_text(part), headersonly=True)
    return None


def header_value(msg: Message | None, name: str) -> str | None:
    if msg is None:
        return None
    for key, value in msg.raw_items():
        if key.lower() == name:
            return unescape(" ".join(str(value).split()))
    return None


def unescape(value: str) -> str:
    """A header value the stdlib read with surrogate escapes (raw UTF-8), as text."""
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        return value
