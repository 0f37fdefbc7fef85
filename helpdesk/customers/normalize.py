"""Normalizing customer input so one person has one record (email, phone, tags)."""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email

# Digits, spaces and the punctuation people write in numbers, a leading "+" for the
# country code and an optional extension ("x12", "ext. 12").
_PHONE = re.compile(r"^\+?[0-9(][0-9 ()./-]*(?:\s*(?:x|ext\.?)\s*[0-9]+)?$", re.IGNORECASE)
_MIN_PHONE_DIGITS = 3


class InvalidEmail(ValueError):
    pass


class InvalidPhone(ValueError):
    pass


def normalize_text(raw: str | None) -> str:
    """One-line text (names, companies) in NFC with single spaces.

    macOS and some IMEs send Hangul decomposed into jamo (NFD); without NFC the same name
    would not match in search or sort next to its composed twin.
    """
    return " ".join(unicodedata.normalize("NFC", raw or "").split())


def normalize_phone(raw: str | None) -> str:
    """Trim and fold full-width digits (common from Korean and Japanese input) to ASCII.

    The number keeps the punctuation the person typed; numbers are too varied across
    countries to reformat without a numbering plan.
    """
    phone = " ".join(unicodedata.normalize("NFKC", raw or "").split())
    if not phone:
        return ""
    if not _PHONE.match(phone) or sum(c.isdigit() for c in phone) < _MIN_PHONE_DIGITS:
        raise InvalidPhone(
            f"invalid phone number {phone!r}: use digits, spaces, + ( ) - . and an optional"
            " extension like x12"
        )
    return phone


def normalize_email(raw: str) -> str:
    """Trim, validate the syntax and lower-case the domain.

    The local part keeps its case: RFC 5321 makes it case-sensitive. Internationalized
    domains come back in Unicode form, so one person has one spelling of their address.
    """
    candidate = (raw or "").strip()
    if not candidate:
        raise InvalidEmail("email is required")
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"invalid email {candidate!r}: {exc}") from None
    local, _, domain = result.normalized.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalize_tags(raw: str | list[str] | None) -> list[str]:
    if raw is None:
        return []
    items = raw.split(",") if isinstance(raw, str) else raw
    seen: dict[str, None] = {}
    for item in items:
        tag = " ".join(item.split()).lower()
        if tag:
            seen.setdefault(tag[:64], None)
    return list(seen)
