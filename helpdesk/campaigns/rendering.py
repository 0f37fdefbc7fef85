"""Campaign templates: personalize in Jinja2's sandbox, inline CSS, derive the text part.

Marketers write templates, so they are untrusted code: they render in an immutable,
bounded sandbox (`template_sandbox`) with no globals, see only plain data (dicts,
strings, numbers) and never ORM objects, the config or the request, and every render
runs against its own time and size budget. The HTML is autoescaped, the text part
is not. Compiled templates are cached by source, so a send renders each recipient
without parsing the template again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

import css_inline
import lxml.html
from inscriptis import Inscriptis
from inscriptis.model.config import ParserConfig
from jinja2 import Template, TemplateError, TemplateSyntaxError, Undefined
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk import template_formatting
from helpdesk.customers.models import (
    Customer,
    CustomField,
    CustomFieldValue,
    Purchase,
    counted_amount,
)
from helpdesk.customers.names import NameParts, salutation, salutation_language
from helpdesk.template_sandbox import BoundedSandbox, render_budget

_html_env = BoundedSandbox(autoescape=True, undefined=Undefined)
_text_env = BoundedSandbox(autoescape=False, undefined=Undefined)
for _env in (_html_env, _text_env):
    _env.add_filters(template_formatting.FILTERS)

_inliner = css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False)
_text_config = ParserConfig(display_links=False, display_images=False)
URL_SCHEMES = ("http://", "https://")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


class TemplateProblem(ValueError):
    """A template that does not compile or render; `part` and `line` locate it."""

    def __init__(self, part: str, line: int | None, detail: str):
        self.part = part
        self.line = line
        self.detail = detail
        where = f"{part}, line {line}" if line else part
        super().__init__(f"{where}: {detail}")


@dataclass(frozen=True)
class CampaignContent:
    """What is rendered; a Campaign row fits, and so does a form's unsaved input."""

    subject: str
    html_body: str
    text_body: str = ""
    text_edited: bool = False


@lru_cache(maxsize=64)
def _compile(source: str, html: bool, part: str) -> Template:
    env = _html_env if html else _text_env
    try:
        return env.from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(part, exc.lineno, exc.message or str(exc)) from None


def _render(source: str, context: Mapping, *, html: bool, part: str) -> str:
    template = _compile(source, html, part)
    try:
        with render_budget():
            return template.render(context)
    except TemplateError as exc:
        raise TemplateProblem(part, _error_line(exc), str(exc)) from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise TemplateProblem(part, _error_line(exc), f"{type(exc).__name__}: {exc}") from None
    except RecursionError as exc:
        raise TemplateProblem(
            part, _error_line(exc), "The template calls itself endlessly."
        ) from None


def _error_line(exc: BaseException) -> int | None:
    """The template line of a runtime error: Jinja rewrites the traceback so that template
    frames carry the file name "<template>" and the template's own line numbers."""
    line = getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render_for_delivery(
    campaign, customer_context: Mapping, urls: Mapping[str, str]
) -> tuple[str, str, str]:
    """(subject, html, text) for one recipient.

    `campaign` has subject, html_body, text_body and text_edited (a Campaign row or a
    CampaignContent). `customer_context` is one value of `customer_contexts(...)`;
    `urls` holds `unsubscribe_url` and `view_in_browser_url` for this recipient.
    Raises TemplateProblem; each part renders with its own `RenderBudget`. The HTML has
    its CSS inlined; the text part is the marketer's text template when edited, otherwise derived
    from the rendered HTML with links written as "text (url)".
    """
    context = {
        "customer": recipient_context(campaign, customer_context),
        "unsubscribe_url": urls.get("unsubscribe_url", ""),
        "view_in_browser_url": urls.get("view_in_browser_url", ""),
    }
    subject = _render(campaign.subject, context, html=False, part="Subject")
    subject = " ".join(subject.split())
    html = inline_css(_render(campaign.html_body, context, html=True, part="HTML body"))
    if campaign.text_edited and campaign.text_body.strip():
        text = _render(campaign.text_body, context, html=False, part="Text body")
    else:
        text_source = _text_template_from_html(campaign.html_body)
        if text_source is None:
            text = html_to_text(html)
        else:
            text = _compact(_render(text_source, context, html=False, part="Text body"))
    return subject, html, text


def recipient_context(campaign, customer_context: Mapping) -> Mapping:
    """The customer's template data for this campaign: a customer without a name is
    greeted, and one without a language has money and dates written, in the campaign's
    language."""
    nameless = customer_context.get("salutation", "") is None
    no_language = "language" in customer_context and not customer_context["language"]
    if not (nameless or no_language):
        return customer_context
    language = campaign_language(campaign.subject, campaign.html_body, campaign.text_body)
    context = dict(customer_context)
    if nameless:
        context["salutation"] = customer_context[f"salutation_{language}"]
    if no_language:
        context["language"] = language
    return context


@lru_cache(maxsize=64)
def campaign_language(subject: str, html_body: str, text_body: str) -> str:
    """ "ko" when the campaign is written in Korean (has Hangul), else "en": the language
    of the salutation of customers without a name, who give no script to go by."""
    return "ko" if any(_HANGUL.search(part) for part in (subject, html_body, text_body)) else "en"


@lru_cache(maxsize=64)
def _text_template_from_html(html_source: str) -> str | None:
    """The text part's template, derived once from the HTML template.

    Converting every rendered HTML to text costs milliseconds per recipient; converting
    the template once and rendering it like any text template gives the same words,
    placeholders included. None when the conversion broke a Jinja tag apart: then the
    rendered HTML is converted per recipient instead.
    """
    source = html_to_text(html_source)
    try:
        _text_env.from_string(source)
    except TemplateSyntaxError:
        return None
    return source


def check_templates(campaign) -> list[TemplateProblem]:
    """Every problem a save should show: syntax errors, and errors of a trial render."""
    problems: list[TemplateProblem] = []
    parts = [("Subject", campaign.subject, False), ("HTML body", campaign.html_body, True)]
    if campaign.text_edited:
        parts.append(("Text body", campaign.text_body, False))
    for part, source, html in parts:
        try:
            context = {"customer": sample_customer(), **SAMPLE_URLS}
            _render(source, context, html=html, part=part)
        except TemplateProblem as problem:
            problems.append(problem)
    return problems


def inline_css(html: str) -> str:
    if not html.strip():
        return html
    return _inliner.inline(html)


def html_to_text(html: str) -> str:
    """Readable text for the text/plain part; a link keeps its target as "text (url)"."""
    if not html.strip():
        return ""
    try:
        # A whole document: a fragment's wrapper <div> would indent every line.
        tree = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return html
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        label = anchor.text_content().strip()
        # A placeholder ("{{ unsubscribe_url }}") is a link once rendered.
        linkable = href.startswith((*URL_SCHEMES, "mailto:")) or "{{" in href
        if not linkable or href in (label, f"mailto:{label}"):
            continue
        anchor.tail = f" ({href})" + (anchor.tail or "")
    return _compact(Inscriptis(tree, _text_config).get_text())


def _compact(text: str) -> str:
    """Layout tables and template tags leave runs of blank lines; one separates paragraphs."""
    compact: list[str] = []
    for line in (line.rstrip() for line in text.splitlines()):
        if line or (compact and compact[-1]):
            compact.append(line)
    return "\n".join(compact).strip() + "\n"


def extract_links(html: str) -> list[str]:
    """The http(s) link targets of the HTML in document order, without repeats."""
    if not html.strip():
        return []
    tree = lxml.html.fromstring(html)
    seen: dict[str, None] = {}
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        if href.startswith(URL_SCHEMES):
            seen.setdefault(href, None)
    return list(seen)


# --- recipient data -------------------------------------------------------------------


def _plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def customer_contexts(session: Session, customer_ids: Iterable[int]) -> dict[int, dict]:
    """Template data per customer id, loaded in a few queries for a whole batch.

    `customer.custom.<key>` holds every custom field (None when unset, so a template
    can test it); `customer.purchases` has count, total, last_product and last_date.
    `customer.salutation` is in the language of the name's script; it is None for a
    customer without a name until `render_for_delivery` picks the campaign's language.
    """
    ids = list(customer_ids)
    if not ids:
        return {}
    keys = dict(session.execute(select(CustomField.id, CustomField.key)).all())
    contexts: dict[int, dict] = {}
    # Plain rows, not Customer objects: a batch of hundreds is loaded for every few seconds
    # of sending, and identity-mapped objects cost more than the rendering itself.
    customers = select(
        Customer.id,
        Customer.email,
        Customer.name,
        Customer.given_name,
        Customer.family_name,
        Customer.company,
        Customer.phone,
        Customer.created_at,
        Customer.language,
        Customer.timezone,
    ).where(Customer.id.in_(ids))
    for customer in session.execute(customers):
        contexts[customer.id] = {
            "id": customer.id,
            "email": customer.email,
            "name": customer.name,
            **name_context(customer.name, NameParts(customer.given_name, customer.family_name)),
            "company": customer.company,
            "phone": customer.phone,
            "created_at": customer.created_at,
            # Empty: the campaign's language (`recipient_context`) and that language's zone.
            "language": customer.language,
            "timezone": customer.timezone,
            "custom": dict.fromkeys(keys.values()),
            "purchases": {"count": 0, "total": 0, "last_product": "", "last_date": None},
        }
    for value in session.scalars(
        select(CustomFieldValue).where(CustomFieldValue.customer_id.in_(ids))
    ):
        typed = next(
            (
                v
                for v in (
                    value.text_value,
                    value.number_value,
                    value.date_value,
                    value.bool_value,
                )
                if v is not None
            ),
            None,
        )
        contexts[value.customer_id]["custom"][keys[value.field_id]] = _plain(typed)
    totals = session.execute(
        select(Purchase.customer_id, func.count(), func.sum(counted_amount()))
        .where(Purchase.customer_id.in_(ids))
        .group_by(Purchase.customer_id)
    )
    for customer_id, count, total in totals:
        contexts[customer_id]["purchases"].update(count=count, total=_plain(total))
    latest = (
        select(Purchase.customer_id, Purchase.product, Purchase.purchased_at)
        .where(Purchase.customer_id.in_(ids))
        .order_by(Purchase.customer_id, Purchase.purchased_at.desc(), Purchase.id.desc())
    )
    for customer_id, product, purchased_at in session.execute(latest):
        summary = contexts[customer_id]["purchases"]
        if summary["last_date"] is None:
            summary.update(last_product=product, last_date=purchased_at)
    return contexts


def name_context(name: str, parts: NameParts) -> dict[str, str | None]:
    """The name variables of a customer: the parts (first_name and last_name are their
    names in other mail tools) and the salutations."""
    language = salutation_language(name or parts.family or parts.given)
    english, korean = salutation(parts, name, "en"), salutation(parts, name, "ko")
    return {
        "given_name": parts.given,
        "family_name": parts.family,
        "first_name": parts.given,
        "last_name": parts.family,
        "salutation": {"en": english, "ko": korean}.get(language),
        "salutation_en": english,
        "salutation_ko": korean,
    }


def sample_customer() -> dict:
    """The sample customer of previews, test sends and the trial render on save: a new
    copy for every render, so nothing one render does reaches the next."""
    return {
        "id": 0,
        "email": "sample@example.com",
        "name": "Sample Customer",
        **name_context("Sample Customer", NameParts("Sample", "Customer")),
        "company": "Example Inc.",
        "phone": "",
        "created_at": datetime(2024, 1, 1),
        "language": "",
        "timezone": "",
        "custom": {},
        "purchases": {
            "count": 1,
            "total": 10,
            "last_product": "Sample product",
            "last_date": date(2024, 1, 1),
        },
    }


SAMPLE_URLS = {
    "unsubscribe_url": "https://example.com/unsubscribe",
    "view_in_browser_url": "https://example.com/view",
}
