"""Formatting filters for templates users write (campaigns): money, dates and times in
the reader's language and time zone, by Babel's CLDR data.

The reader's language and zone come from the template's `customer` (`language`,
`timezone`), so one template reads "₩240,000" and "2026년 12월 4일" to a Korean customer
and "Dec 4, 2026" to an English one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, is_currency
from jinja2 import pass_context

# A territory per language, so a currency reads as its own country writes it ($ in en_US,
# ₩ in ko_KR).
LOCALES = {"ko": "ko_KR", "en": "en_US", "ja": "ja_JP"}
# Named CLDR styles only: a free pattern would be one more language to sandbox.
STYLES = ("short", "medium", "long", "full")
DEFAULT_ZONES = {"ko": "Asia/Seoul", "ja": "Asia/Tokyo"}


def _reader(context) -> tuple[Locale, ZoneInfo]:
    customer = context.get("customer") or {}
    language = str(customer.get("language") or "en")
    try:
        locale = Locale.parse(LOCALES.get(language, language))
    except (UnknownLocaleError, ValueError, TypeError):
        locale = Locale.parse("en_US")
    zone_name = str(customer.get("timezone") or DEFAULT_ZONES.get(locale.language, "UTC"))
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return locale, zone


def _style(style: str) -> str:
    if style not in STYLES:
        raise ValueError(f"the format must be one of {', '.join(STYLES)}")
    return style


@pass_context
def money(context, amount, currency: str = "KRW") -> str:
    """`{{ 240000|money }}` → ₩240,000; `{{ 2400|money('USD') }}` → $2,400.00 (en)."""
    code = str(currency).upper()
    if not is_currency(code):
        raise ValueError(f"{currency!r} is not a currency code")
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise ValueError(f"{amount!r} is not an amount") from None
    locale, _zone = _reader(context)
    return format_currency(value, code, locale=locale)


@pass_context
def date_filter(context, value, style: str = "long") -> str:
    """A date (or the date of a moment, in the reader's zone) in the reader's language."""
    locale, zone = _reader(context)
    if isinstance(value, datetime):
        value = _aware(value).astimezone(zone).date()
    elif not isinstance(value, date):
        raise ValueError(f"{value!r} is not a date")
    return format_date(value, format=_style(style), locale=locale)


@pass_context
def datetime_filter(context, value, style: str = "medium") -> str:
    """A moment in the reader's zone and language; naive times are taken as UTC, which is
    how the database keeps them."""
    if not isinstance(value, datetime):
        raise ValueError(f"{value!r} is not a date and time")
    locale, zone = _reader(context)
    return format_datetime(_aware(value), format=_style(style), tzinfo=zone, locale=locale)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


FILTERS = {"money": money, "date": date_filter, "datetime": datetime_filter}
