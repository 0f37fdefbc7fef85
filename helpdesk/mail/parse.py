"""Turns raw RFC 5322 bytes into a ParsedMail: decoded headers and bodies, attachments,
sanitized HTML and a classification (normal, auto-reply, bounce, complaint).

parse_message never raises: what cannot be made sense of comes back with a quarantine
reason, so one bad message never stops the poller or the SMTP gateway."""

from __future__ import annotations

import binascii
import codecs
import hashlib
import html as html_lib
import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.policy import Policy
from email.utils import getaddresses, parsedate_to_datetime

import charset_normalizer
import nh3
from inscriptis import get_text

from helpdesk.mail.classify import Bounce, Kind, classify, message_ids
from helpdesk.mail.quotes import split_reply

__all__ = ["Address", "Attachment", "Bounce", "Kind", "ParsedMail", "parse_message"]


@dataclass(frozen=True)
class Address:
    email: str
    name: str


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes
    sha256: str
    size: int
    content_id: str | None
    inline: bool
    too_large: bool


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    subject: str
    from_: Address | None
    to: list[Address]
    cc: list[Address]
    reply_to: list[Address]
    date: datetime | None
    text: str
    text_reply: str
    html: str | None
    html_safe: str | None
    attachments: list[Attachment]
    kind: Kind
    auto_reply_reason: str | None
    bounce: Bounce | None
    complaint_recipient: str | None
    headers: dict[str, str]
    defects: list[str]
    quarantine_reason: str | None
    sha256: str


# Deeper MIME nesting than this is an attack on the parser, not a mail anyone wrote.
MAX_DEPTH = 30

# Labels mail clients send mapped to the codec that decodes what they really mean: Outlook's
# Korean label and EUC-KR mail routinely carry CP949-only syllables, GB2312 mail GBK ones,
# Shift_JIS mail the Windows (NEC/IBM) extensions, Latin-1 mail Windows-1252 quotes.
_CHARSET_ALIASES = {
    "ks_c_5601-1987": "cp949",
    "ks_c_5601-1989": "cp949",
    "ks_c_5601": "cp949",
    "ksc5601": "cp949",
    "ksc_5601": "cp949",
    "euc-kr": "cp949",
    "euc_kr": "cp949",
    "euckr": "cp949",
    "x-euc-kr": "cp949",
    "korean": "cp949",
    "x-windows-949": "cp949",
    "windows-949": "cp949",
    "uhc": "cp949",
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "x-gbk": "gb18030",
    "gbk": "gb18030",
    "cp936": "gb18030",
    "x-euc-cn": "gb18030",
    "euc-cn": "gb18030",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "csiso2022jp": "iso2022_jp_ext",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "ascii",
    "ansi_x3.4-1968": "ascii",
    "utf8": "utf-8",
}
# Labels that say nothing about the bytes: decoded as if no charset were declared.
_NO_CHARSET = {"", "unknown-8bit", "x-unknown", "unknown", "default", "x-user-defined", "none"}
# Mail declared as one of these but valid UTF-8 is UTF-8: Latin text with 8-bit characters
# almost never forms valid UTF-8 sequences by chance.
_LATIN_DECLARED = {"ascii", "cp1252"}

# A header or filename is too short for statistical detection (it cannot tell "사진" in
# EUC-KR from two Big5 ideographs); such strings are decoded with the first of these legacy
# charsets that turns them into letters of its own script. Korean comes first: it is the
# language this helpdesk serves most, and the one whose mailers still send raw 8-bit headers.
_SHORT_TEXT_GUESSES = (
    ("cp949", lambda c: 0xAC00 <= c <= 0xD7A3 or 0x3131 <= c <= 0x318E),
    ("cp932", lambda c: 0x3040 <= c <= 0x30FF or 0x4E00 <= c <= 0x9FFF or 0x3000 <= c <= 0x303F),
    ("gb18030", lambda c: 0x4E00 <= c <= 0x9FFF or 0x3000 <= c <= 0x303F or 0xFF00 <= c <= 0xFFEF),
)
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_SURROGATES = re.compile("[\ud800-\udfff]")
_BOUNDARY_LINE = re.compile(r"^--([^\s]{1,100}?)(?:--)?[ \t]*\r?$", re.MULTILINE)
_DEFAULT_FILENAMES = {
    "message/rfc822": "message.eml",
    "message/global": "message.eml",
    "message/delivery-status": "delivery-status.txt",
    "message/feedback-report": "feedback-report.txt",
    "text/rfc822-headers": "original-headers.txt",
}
_FILENAME_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# nh3 serializes every attribute as name="value" with '"' escaped, so this matches its img
# tags exactly.
_IMG_TAG = re.compile(r'<img((?:\s+[^\s=>]+(?:="[^"]*")?)*)(\s*/?)>')
_IMG_SRC = re.compile(r'(\s)src="(?!cid:)')

_STYLE_PROPERTIES = {
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "line-height",
    "letter-spacing",
    "text-align",
    "text-decoration",
    "text-indent",
    "text-transform",
    "vertical-align",
    "white-space",
    "width",
    "height",
    "max-width",
    "min-width",
    "margin",
    "margin-top",
    "margin-right",
    "margin-bottom",
    "margin-left",
    "padding",
    "padding-top",
    "padding-right",
    "padding-bottom",
    "padding-left",
    "border",
    "border-top",
    "border-right",
    "border-bottom",
    "border-left",
    "border-color",
    "border-style",
    "border-width",
    "border-collapse",
    "border-spacing",
    "border-radius",
    "display",
    "list-style-type",
}
_LAYOUT_ATTRIBUTES = {"align", "valign", "bgcolor", "width", "height", "border"}
_HTML_ATTRIBUTES: dict[str, set[str]] = {
    tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()
} | {
    "*": {"style", "dir", "lang", "title"},
    "font": {"color", "face", "size"},
    "table": set(nh3.ALLOWED_ATTRIBUTES["table"])
    | _LAYOUT_ATTRIBUTES
    | {"cellpadding", "cellspacing"},
    "td": set(nh3.ALLOWED_ATTRIBUTES["td"]) | _LAYOUT_ATTRIBUTES,
    "th": set(nh3.ALLOWED_ATTRIBUTES["th"]) | _LAYOUT_ATTRIBUTES,
    "tr": set(nh3.ALLOWED_ATTRIBUTES["tr"]) | _LAYOUT_ATTRIBUTES,
}
# Remote content (images, CSS url()) must not load when an agent opens a mail: it tells
# the sender the mail was read. Style properties that can carry url() are not allowed, and
# img src other than cid: is moved to data-remote-src after cleaning.
_CLEANER = nh3.Cleaner(
    tags=set(nh3.ALLOWED_TAGS) | {"font", "center"},
    clean_content_tags={"script", "style", "title", "head"},
    attributes=_HTML_ATTRIBUTES,
    url_schemes={"http", "https", "mailto", "tel", "cid"},
    filter_style_properties=_STYLE_PROPERTIES,
    link_rel="noopener noreferrer nofollow",
)


@dataclass
class _Context:
    defects: list[str]
    charset_hint: str | None
    max_attachment_bytes: int


@dataclass
class _Bodies:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


def parse_message(
    raw: bytes,
    *,
    max_attachment_bytes: int = 25 * 1024 * 1024,
    own_addresses: frozenset[str] = frozenset(),
    loop_header: str = "X-Helpdesk-Loop",
) -> ParsedMail:
    try:
        raw = bytes(raw)
        digest = hashlib.sha256(raw).hexdigest()
    except Exception as exc:
        return _quarantined(hashlib.sha256(b"").hexdigest(), f"input is not bytes: {exc}")
    if not raw.strip():
        return _quarantined(digest, "empty input")
    errors = []
    # compat32 first: headers are read raw and decoded here (the policies differ only in
    # header objects, which turn 8-bit Korean bytes into U+FFFD and cost three times the
    # parse). The default policy is the second chance when compat32 trips on a structure.
    for msg_policy in (policy.compat32, policy.default):
        try:
            return _parse(raw, digest, msg_policy, max_attachment_bytes, own_addresses, loop_header)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    return _quarantined(digest, f"parser failure: {errors[-1]}"[:500], _salvage_headers(raw))


def _parse(
    raw: bytes,
    digest: str,
    msg_policy: Policy,
    max_attachment_bytes: int,
    own_addresses: frozenset[str],
    loop_header: str,
) -> ParsedMail:
    msg = BytesParser(policy=msg_policy).parsebytes(raw)
    raw_headers = [(str(name), str(value)) for name, value in msg.raw_items()]
    if not raw_headers:
        return _quarantined(digest, "not a mail message: no header fields")
    ctx = _Context(
        defects=[],
        charset_hint=_charset_hint(msg),
        max_attachment_bytes=max_attachment_bytes,
    )
    headers: dict[str, str] = {}
    for name, value in raw_headers:
        key = name.lower()
        if key not in headers:
            headers[key] = _decode_header(value, ctx)

    def all_values(name: str) -> list[str]:
        return [value for key, value in raw_headers if key.lower() == name]

    from_list = _addresses(all_values("from"), ctx) or _addresses(all_values("sender"), ctx)
    from_ = from_list[0] if from_list else None
    to = _addresses(all_values("to"), ctx)
    cc = _addresses(all_values("cc"), ctx)
    reply_to = _addresses(all_values("reply-to"), ctx)
    date = _date(headers.get("date"), ctx.defects)

    bodies = _Bodies()
    _walk(msg, bodies, ctx, 0)
    html = "\n".join(bodies.html) if bodies.html else None
    text = "\n\n".join(t for t in bodies.plain if t.strip())
    if not text.strip() and html is not None:
        text = _html_to_text(html)
    text = _normalize_newlines(text)

    result = classify(
        msg,
        headers,
        from_.email if from_ else None,
        text,
        own_addresses=own_addresses,
        loop_header=loop_header,
    )
    ids = message_ids(headers.get("message-id"))
    if headers.get("message-id") and not ids:
        ctx.defects.append("unparseable Message-ID")
    defects = _stdlib_defects(msg) + ctx.defects
    quarantine_reason = None
    if from_ is None and not any(key in headers for key in ("date", "subject", "to", "message-id")):
        quarantine_reason = "not a mail message: no From and no mail headers"
    elif from_ is None and result.kind == Kind.normal:
        # Bounces and auto-replies often come from MAILER-DAEMON or <>: nobody is answered.
        quarantine_reason = (
            "no sender: From header unparseable" if all_values("from") else "no From header"
        )
    return ParsedMail(
        message_id=ids[0] if ids else None,
        in_reply_to=message_ids(headers.get("in-reply-to")),
        references=message_ids(headers.get("references")),
        subject=" ".join(headers.get("subject", "").split()),
        from_=from_,
        to=to,
        cc=cc,
        reply_to=reply_to,
        date=date,
        text=text,
        text_reply=split_reply(text),
        html=html,
        html_safe=sanitize_html(html) if html is not None else None,
        attachments=bodies.attachments,
        kind=result.kind,
        auto_reply_reason=result.auto_reply_reason,
        bounce=result.bounce,
        complaint_recipient=result.complaint_recipient,
        headers=headers,
        defects=list(dict.fromkeys(defects)),
        quarantine_reason=quarantine_reason,
        sha256=digest,
    )


def _quarantined(digest: str, reason: str, headers: dict[str, str] | None = None) -> ParsedMail:
    headers = headers or {}
    ids = message_ids(headers.get("message-id"))
    return ParsedMail(
        message_id=ids[0] if ids else None,
        in_reply_to=[],
        references=[],
        subject=headers.get("subject", ""),
        from_=None,
        to=[],
        cc=[],
        reply_to=[],
        date=None,
        text="",
        text_reply="",
        html=None,
        html_safe=None,
        attachments=[],
        kind=Kind.normal,
        auto_reply_reason=None,
        bounce=None,
        complaint_recipient=None,
        headers=headers,
        defects=[],
        quarantine_reason=reason,
        sha256=digest,
    )


def _salvage_headers(raw: bytes) -> dict[str, str]:
    """Whatever header lines can be read, for a message the parser gave up on."""
    headers: dict[str, str] = {}
    try:
        head = raw.split(b"\n\n", 1)[0][:65536].decode("utf-8", "replace")
        for line in head.splitlines():
            name, sep, value = line.partition(":")
            if sep and name and " " not in name:
                headers.setdefault(name.lower(), _clean(value).strip())
    except Exception:
        return {}
    return headers


# --- charsets ---------------------------------------------------------------------------


def _codec(label: str | None) -> str | None:
    """The Python codec for a declared charset label, None when unknown or meaningless."""
    name = (label or "").strip().strip("\"'").lower()
    if name in _NO_CHARSET:
        return None
    name = _CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None


def _decode_bytes(data: bytes, declared: str | None, ctx: _Context, where: str) -> str:
    """Decode with the declared charset; when it is missing or wrong, detect, and as a last
    resort decode UTF-8 with replacement characters. Every guess is recorded as a defect."""
    codec = _codec(declared)
    label = (declared or "").strip().strip("\"'").lower()
    if codec is not None:
        if codec in _LATIN_DECLARED and not data.isascii() and _is_utf8(data):
            ctx.defects.append(f"{where}: declared {label} but is UTF-8")
            return _clean(data.decode("utf-8"))
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            ctx.defects.append(f"{where}: not valid {label}")
        else:
            if codec == "cp1258":
                # Vietnamese Windows text carries tone marks as combining characters.
                text = unicodedata.normalize("NFC", text)
            return _clean(text)
    elif data.isascii() and b"\x1b" not in data:
        return _clean(data.decode("ascii"))
    elif label and label not in _NO_CHARSET:
        ctx.defects.append(f"{where}: unknown charset {label}")
    else:
        ctx.defects.append(f"{where}: no charset declared")
    return _clean(_guess(data, ctx, where, exclude=codec))


def _guess(data: bytes, ctx: _Context, where: str, exclude: str | None) -> str:
    if data.isascii():
        # 7-bit with escape sequences: ISO-2022 mail whose label went missing.
        for codec in ("iso2022_jp_ext", "iso2022_kr"):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                continue
    if _is_utf8(data) and b"\x1b" not in data:
        return data.decode("utf-8")
    hint = _codec(ctx.charset_hint)
    if hint and hint not in (exclude, "utf-8"):
        try:
            return data.decode(hint)
        except UnicodeDecodeError:
            pass
    if where == "header":
        for codec, accepts in _SHORT_TEXT_GUESSES:
            text = _decode_if_script(data, codec, accepts)
            if text is not None:
                ctx.defects.append(f"{where}: charset guessed as {codec}")
                return text
    best = charset_normalizer.from_bytes(data).best()
    if best is not None:
        ctx.defects.append(f"{where}: charset detected as {best.encoding}")
        return str(best)
    ctx.defects.append(f"{where}: undecodable, decoded as UTF-8 with replacements")
    return data.decode("utf-8", "replace")


def _decode_if_script(data: bytes, codec: str, accepts) -> str | None:
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return None
    wide = [ord(c) for c in text if ord(c) > 0x7F]
    if wide and sum(1 for c in wide if accepts(c)) * 10 >= len(wide) * 8:
        return text
    return None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _clean(text: str) -> str:
    """No NUL (PostgreSQL text refuses it) and no lone surrogates (not encodable)."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = _SURROGATES.sub("\ufffd", text)
    return text


def _charset_hint(msg: Message) -> str | None:
    """The first charset the message declares, for 8-bit headers that declare none."""
    for count, part in enumerate(msg.walk()):
        if count > 50:
            break
        charset = part.get_param("charset")
        if isinstance(charset, str) and _codec(charset) not in (None, "ascii", "utf-8"):
            return charset
    return None


# --- headers ----------------------------------------------------------------------------


def _unfold(value: str) -> str:
    return _FOLD.sub("", value).replace("\r", "").replace("\n", " ")


def _decode_8bit(value: str, ctx: _Context) -> str:
    """A header value the parser read with surrogate escapes, as text."""
    if value.isascii():
        return value
    data = value.encode("utf-8", "surrogateescape")
    if _is_utf8(data):
        return data.decode("utf-8")
    ctx.defects.append("raw 8-bit header")
    return _guess(data, ctx, "header", exclude=None)


def _decode_header(value: str, ctx: _Context) -> str:
    text = _decode_8bit(_unfold(value), ctx)
    if "=?" in text:
        text = _decode_encoded_words(text, ctx)
    return _clean(text).strip()


def _decode_encoded_words(value: str, ctx: _Context) -> str:
    """RFC 2047, leniently: words inside atoms are decoded too, and adjacent words in one
    charset are joined before decoding because mailers split them mid-character."""
    pieces: list[tuple[str | None, bytes | str]] = []
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[pos : match.start()]
        adjacent_word = pieces and pieces[-1][0] is not None
        if between and not (adjacent_word and between.isspace()):
            pieces.append((None, between))
        charset = match.group(1).lower()
        data = _decode_word_payload(match.group(2).lower(), match.group(3), ctx)
        last = pieces[-1] if pieces else None
        if last is not None and last[0] == charset and isinstance(last[1], bytes):
            pieces[-1] = (charset, last[1] + data)
        else:
            pieces.append((charset, data))
        pos = match.end()
    pieces.append((None, value[pos:]))
    return "".join(
        part if isinstance(part, str) else _decode_bytes(part, charset, ctx, "header")
        for charset, part in pieces
    )


def _decode_word_payload(encoding: str, payload: str, ctx: _Context) -> bytes:
    data = payload.encode("ascii", "replace")
    try:
        if encoding == "b":
            return binascii.a2b_base64(data + b"===")
        return binascii.a2b_qp(data, header=True)
    except binascii.Error:
        ctx.defects.append("broken encoded word in header")
        return data


def _addresses(values: list[str], ctx: _Context) -> list[Address]:
    found = []
    for value in values:
        # Encoded words are decoded after splitting: a decoded name may contain a comma.
        text = _decode_8bit(_unfold(value), ctx)
        try:
            pairs = getaddresses([text])
        except Exception:
            ctx.defects.append(f"unparseable address header: {text[:80]}")
            continue
        for name, address in pairs:
            address = address.strip().strip("<>").strip()
            if "@" not in address or len(address.split()) != 1:
                continue
            local, _, domain = address.rpartition("@")
            display = _decode_encoded_words(name, ctx) if "=?" in name else name
            found.append(
                Address(email=_clean(f"{local}@{domain.lower()}"), name=_clean(display).strip())
            )
    return found


def _date(value: str | None, defects: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
        if parsed.tzinfo is None:
            # RFC 5322 "-0000": the time is UTC, the zone unknown.
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append(f"unparseable Date: {value[:80]}")
        return None


def _stdlib_defects(msg: Message) -> list[str]:
    names = []
    for count, part in enumerate(msg.walk()):
        if count > 1000:
            break
        names.extend(type(defect).__name__ for defect in part.defects)
    return names


# --- bodies -----------------------------------------------------------------------------


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _walk(part: Message, out: _Bodies, ctx: _Context, depth: int) -> None:
    if depth > MAX_DEPTH:
        ctx.defects.append("MIME nesting too deep; inner parts dropped")
        return
    ctype = part.get_content_type()
    if part.get_content_maintype() == "message":
        out.attachments.append(_attachment(part, ctype, _message_bytes(part), ctx))
        return
    if part.is_multipart():
        subparts = [p for p in part.get_payload() if isinstance(p, Message)]
        if ctype == "multipart/alternative":
            _walk_alternative(subparts, out, ctx, depth)
        else:
            for sub in subparts:
                _walk(sub, out, ctx, depth + 1)
        return
    if part.get_content_maintype() == "multipart":
        recovered = _recover_multipart(part, ctx)
        if recovered is not None:
            _walk(recovered, out, ctx, depth + 1)
        else:
            out.plain.append(_decode_bytes(_payload(part), ctx.charset_hint, ctx, "body"))
        return
    if ctype in ("text/plain", "text/html") and not _is_attachment(part):
        text = _decode_bytes(_payload(part), _param(part, "charset"), ctx, "body")
        (out.plain if ctype == "text/plain" else out.html).append(_normalize_newlines(text))
        return
    out.attachments.append(_attachment(part, ctype, _payload(part), ctx))


def _walk_alternative(subparts: list[Message], out: _Bodies, ctx: _Context, depth: int) -> None:
    """Text from the plain alternative, HTML from the richest (last) one, and the
    attachments of all of them (the related images sit in the HTML branch)."""
    branches = []
    for sub in subparts:
        branch = _Bodies()
        _walk(sub, branch, ctx, depth + 1)
        branches.append(branch)
    text_branch = next((b for b in branches if b.plain), None)
    html_branch = next((b for b in reversed(branches) if b.html), None)
    if text_branch is not None:
        out.plain.extend(text_branch.plain)
    if html_branch is not None:
        out.html.extend(html_branch.html)
    for branch in branches:
        out.attachments.extend(branch.attachments)


def _recover_multipart(part: Message, ctx: _Context) -> Message | None:
    """A multipart whose declared boundary never occurs: find the boundary the parts
    really use and parse again with it."""
    body = part.get_payload()
    if not isinstance(body, str):
        return None
    declared = part.get_param("boundary")
    candidates = list(dict.fromkeys(m.group(1) for m in _BOUNDARY_LINE.finditer(body)))
    for candidate in candidates[:10]:
        opener = re.compile(r"^--" + re.escape(candidate) + r"[ \t]*\r?\n[\w-]+:", re.MULTILINE)
        if opener.search(body):
            ctx.defects.append(
                f"broken MIME boundary: declared {declared!r} not found, used {candidate!r}"
            )
            head = f'Content-Type: {part.get_content_type()}; boundary="{candidate}"\n\n'
            data = head.encode("ascii", "replace") + body.encode("utf-8", "surrogateescape")
            recovered = BytesParser(policy=part.policy).parsebytes(data)
            if recovered.is_multipart():
                return recovered
            return None
    ctx.defects.append(f"broken MIME boundary: declared {declared!r} not found, kept as text")
    return None


def _payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    if isinstance(data, bytes):
        return data
    return b""


def _message_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    if not isinstance(payload, list):
        return _payload(part)
    chunks = []
    for sub in payload:
        try:
            chunks.append(sub.as_bytes(policy=policy.compat32))
        except Exception:
            chunks.append(sub.as_string(policy=policy.compat32).encode("utf-8", "replace"))
    return b"".join(chunks)


def _raw_header(part: Message, name: str) -> str | None:
    for key, value in part.raw_items():
        if key.lower() == name:
            return _unfold(str(value))
    return None


def _param_view(part: Message, ctx: _Context | None) -> Message:
    """A compat32 copy of the part's content headers with 8-bit bytes already decoded: the
    stdlib turns raw 8-bit parameter values (Korean filenames) into U+FFFD otherwise."""
    view = Message()
    for name in ("content-type", "content-disposition"):
        value = _raw_header(part, name)
        if value is not None:
            view[name] = _decode_8bit(value, ctx) if ctx else value
    return view


def _param(part: Message, name: str) -> str | None:
    value = part.get_param(name)
    return value if isinstance(value, str) else None


def _is_attachment(part: Message) -> bool:
    view = _param_view(part, None)
    return view.get_content_disposition() == "attachment" or bool(view.get_filename())


def _attachment(part: Message, ctype: str, content: bytes, ctx: _Context) -> Attachment:
    view = _param_view(part, ctx)
    size = len(content)
    too_large = size > ctx.max_attachment_bytes
    content_id = _raw_header(part, "content-id")
    content_id = content_id.strip().strip("<>").strip() or None if content_id else None
    disposition = view.get_content_disposition()
    return Attachment(
        filename=_filename(view, ctype, ctx),
        content_type=ctype,
        content=b"" if too_large else content,
        sha256=hashlib.sha256(content).hexdigest(),
        size=size,
        content_id=content_id,
        inline=disposition == "inline" or (disposition is None and content_id is not None),
        too_large=too_large,
    )


def _filename(view: Message, ctype: str, ctx: _Context) -> str:
    try:
        name = view.get_filename() or ""
    except Exception:
        name = ""
    if "=?" in name:
        # Outlook and many webmails encode filenames RFC 2047-style, against RFC 2231.
        name = _decode_encoded_words(name, ctx)
    # Only the last path component: a sender's "C:\\Users\\..\\x.pdf" is not a path here.
    name = re.split(r"[/\\]", _clean(name))[-1]
    name = _FILENAME_UNSAFE.sub("_", name).strip().strip(".")
    if name:
        return name[-200:]
    if ctype in _DEFAULT_FILENAMES:
        return _DEFAULT_FILENAMES[ctype]
    extension = mimetypes.guess_extension(ctype) or (
        ".txt" if ctype.startswith("text/") else ".bin"
    )
    return "attachment" + extension


# --- HTML -------------------------------------------------------------------------------

_HELD_REMOTE_SRC = re.compile(r'(<img\b[^>]*?\s)data-remote-src="', re.IGNORECASE)


def has_remote_images(html: str) -> bool:
    return bool(_HELD_REMOTE_SRC.search(html))


def load_remote_images(html: str) -> str:
    """HTML from `sanitize_html` with its remote images let through, when a reader asks."""
    return _HELD_REMOTE_SRC.sub(r'\1src="', html)


def sanitize_html(html: str) -> str:
    """Mail HTML cleaned for our pages, remote images held back as data-remote-src."""
    cleaned = _CLEANER.clean(html)
    return _IMG_TAG.sub(_hold_remote_image, cleaned).strip()


def _hold_remote_image(match: re.Match[str]) -> str:
    attributes = _IMG_SRC.sub(r'\1data-remote-src="', match.group(1))
    return f"<img{attributes}{match.group(2)}>"


def _html_to_text(html: str) -> str:
    """HTML as readable text (paragraphs, line breaks, lists and tables kept)."""
    try:
        text = get_text(_XML_DECLARATION.sub("", html))
    except Exception:
        # inscriptis (lxml) refuses some documents; the plain strip keeps the words.
        text = html_lib.unescape(nh3.clean(html, tags=set()))
    lines = [line.rstrip() for line in _clean(text).splitlines()]
    return "\n".join(lines).strip("\n")
