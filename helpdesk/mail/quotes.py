"""Separates what the sender just wrote from the quoted history and the signature below it."""

from __future__ import annotations

import re

# Lines that open quoted history in the major clients. Each is anchored and has no nested
# repetition, so a line is matched in linear time.
_ATTRIBUTION = [
    # Gmail, Apple Mail, Thunderbird: "On Mon, 1 Jan 2024 at 15:00, Kim <k@x.kr> wrote:"
    re.compile(r"^On\b.{0,400}\bwrote:\s*$", re.IGNORECASE),
    # Korean Gmail: "2024년 1월 1일 (월) 오후 3:00, 홍길동 <a@b.c>님이 작성:"
    re.compile(r"^\d{4}년\s*\d{1,2}월\s*\d{1,2}일.{0,300}(님이|께서)\s*작성(했습니다)?\s*:?\s*$"),
    # Japanese Gmail: "2024年1月1日(月) 15:00 山田太郎 <taro@example.jp>:"
    re.compile(r"^\d{4}年\s*\d{1,2}月\s*\d{1,2}日.{0,300}>\s*:?\s*$"),
    re.compile(r"^Am\b.{0,400}\bschrieb\b.{0,200}:\s*$"),
    re.compile(r"^Le\b.{0,400}\ba écrit\s*:\s*$"),
]
_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(Original Message|원본 메시지|원본 메일|Ursprüngliche Nachricht|"
    r"Message d'origine|元のメッセージ)\s*-{2,}\s*$",
    re.IGNORECASE,
)
# Outlook quotes without '>' under a header block: "From: ...", then "Sent: ..." below.
_OUTLOOK_FROM = re.compile(r"^\s*\*?(From|보낸 사람|Von|De|差出人)\s*:\*?\s*\S", re.IGNORECASE)
_OUTLOOK_DATE = re.compile(
    r"^\s*\*?(Sent|Date|보낸 날짜|Gesendet|Envoyé|送信日時)\s*:\*?\s*\S", re.IGNORECASE
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_SIGNATURE = re.compile(r"^--\s?$")
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(Sent from (my )?\S.{0,50}|Get Outlook for \S.{0,30}|Sent with \S.{0,40}"
    r"|\S.{0,30}에서 보냄|\S.{0,40}에서 보냈습니다\.?|\S.{0,30}から送信)\s*$",
    re.IGNORECASE,
)


def split_reply(text: str) -> str:
    """The new part of a message: quoted history and signature removed.

    Interleaved answers ('>' quotes with replies between them) keep every unquoted line.
    When nothing but quotes would remain (a bare forward), the text is kept whole."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = _history_start(lines)
    if start is not None:
        kept = lines[:start]
        if _interleaved(lines, start):
            kept = [line for line in lines[:start] if not line.startswith(">")]
            kept += [line for line in lines[start + 1 :] if not line.startswith(">")]
    else:
        kept = [line for line in lines if not line.startswith(">")]
    kept = _without_signature(kept)
    reply = "\n".join(kept).strip("\n").rstrip()
    if not reply.strip():
        return "\n".join(_without_signature(lines)).strip("\n").rstrip()
    return reply


def _history_start(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(">"):
            continue
        if _SEPARATOR.match(stripped):
            return i
        if any(p.match(stripped) for p in _ATTRIBUTION):
            return i
        # Clients wrap a long attribution line; try it joined with the next one.
        if i + 1 < len(lines) and len(stripped) < 200:
            joined = f"{stripped} {lines[i + 1].strip()}"
            if any(p.match(joined) for p in _ATTRIBUTION):
                return i
        if _OUTLOOK_FROM.match(line) and _outlook_block_follows(lines, i):
            if i > 0 and _UNDERSCORES.match(lines[i - 1]):
                return i - 1
            return i
    return None


def _outlook_block_follows(lines: list[str], i: int) -> bool:
    return any(_OUTLOOK_DATE.match(line) for line in lines[i + 1 : i + 5])


def _interleaved(lines: list[str], start: int) -> bool:
    """True when unquoted text follows '>' quotes below the attribution line."""
    rest = [line for line in lines[start + 1 :] if line.strip()]
    if not rest or not rest[0].startswith(">"):
        return False
    body = _without_signature(rest)
    return any(not line.startswith(">") for line in body)


def _without_signature(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines):
        if _SIGNATURE.match(line):
            lines = lines[:i]
            break
    last = len(lines) - 1
    while last >= 0 and not lines[last].strip():
        last -= 1
    if last >= 0 and _MOBILE_SIGNATURE.match(lines[last]):
        return lines[:last]
    return lines
