"""Normalizing customer input so one person has one record (email, phone, tags)."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


class InvalidEmail(ValueError):
    pass


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
