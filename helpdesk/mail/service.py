"""Mailbox administration: create and edit mailboxes, read their poll status, and list
quarantined mail (helpdesk.inbound.ingest runs it through ingest again)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.mail.models import ClosedReplyPolicy, Mailbox, RawMessage, RawStatus, TLSMode
from helpdesk.mail.signatures import DEFAULT_REPLY_LANGUAGE, REPLY_LANGUAGES, signature_problem
from helpdesk.text import lazy_text as _l

DEFAULT_PORTS = {TLSMode.ssl: 993, TLSMode.starttls: 143, TLSMode.none: 143}
MIN_POLL_INTERVAL = 10
MAX_POLL_INTERVAL = 24 * 3600
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$")
_ENV_REF = re.compile(r"^env:[A-Za-z_][A-Za-z0-9_]*$")


class MailboxInvalid(ValueError):
    """Refused input; ``errors`` maps each offending form field name to its message."""

    def __init__(self, errors: Mapping[str, object]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{key}: {message}" for key, message in self.errors.items()))


class MailboxNotFound(LookupError):
    pass


def list_mailboxes(session: Session) -> list[Mailbox]:
    return list(session.scalars(select(Mailbox).order_by(Mailbox.name, Mailbox.id)))


def get_mailbox(session: Session, mailbox_id: int) -> Mailbox | None:
    return session.get(Mailbox, mailbox_id)


def create_mailbox(session: Session, data: Mapping[str, object], timezone: str = "UTC") -> Mailbox:
    mailbox = Mailbox(**_clean(session, data, timezone, None))
    session.add(mailbox)
    session.flush()
    return mailbox


def update_mailbox(
    session: Session, mailbox: Mailbox, data: Mapping[str, object], timezone: str = "UTC"
) -> Mailbox:
    values = _clean(session, data, timezone, mailbox)
    changes_source = any(
        values[key] != getattr(mailbox, key) for key in ("imap_host", "imap_user", "imap_folder")
    )
    for key, value in values.items():
        setattr(mailbox, key, value)
    if changes_source:
        # Another server, account or folder has its own UIDs: start from its first message
        # and let the dedupe skip anything already taken in.
        mailbox.uidvalidity = None
        mailbox.last_uid = 0
    session.flush()
    return mailbox


def _text(data: Mapping[str, object], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value).strip()


def _clean(
    session: Session, data: Mapping[str, object], timezone: str, mailbox: Mailbox | None
) -> dict[str, object]:
    errors: dict[str, object] = {}
    values: dict[str, object] = {}

    name = " ".join(_text(data, "name").split())
    if not name:
        errors["name"] = _l("Give the mailbox a name.")
    elif len(name) > 200:
        errors["name"] = _l("Use at most 200 characters.")
    values["name"] = name

    address = _text(data, "address")
    try:
        # .test and other reserved names are fine for our own addresses (RFC 6761).
        address = validate_email(
            address, check_deliverability=False, test_environment=True
        ).normalized.lower()
    except EmailNotValidError as exc:
        errors["address"] = _l("Not a valid email address: %(reason)s", reason=str(exc))
    else:
        taken = session.scalar(select(Mailbox.id).where(func.lower(Mailbox.address) == address))
        if taken is not None and (mailbox is None or taken != mailbox.id):
            errors["address"] = _l("Another mailbox already receives %(address)s.", address=address)
    values["address"] = address

    try:
        tls = TLSMode(_text(data, "imap_tls") or TLSMode.ssl.value)
    except ValueError:
        errors["imap_tls"] = _l("Choose SSL, STARTTLS or none.")
        tls = TLSMode.ssl
    values["imap_tls"] = tls

    host = _text(data, "imap_host")
    user = _text(data, "imap_user")
    password_ref = _text(data, "password_ref")
    uses_imap = bool(host or user)
    if host and (len(host) > 255 or not _HOST.match(host)):
        errors["imap_host"] = _l("Enter a host name like imap.example.com.")
    if uses_imap and not host:
        errors["imap_host"] = _l("Enter the IMAP server, or leave the IMAP user empty too.")
    if uses_imap and not user:
        errors["imap_user"] = _l("Enter the IMAP user name.")
    if len(user) > 320:
        errors["imap_user"] = _l("Use at most 320 characters.")
    values["imap_host"], values["imap_user"] = host, user

    if password_ref and not (
        _ENV_REF.match(password_ref)
        or (password_ref.startswith("file:/") and len(password_ref) <= 500)
    ):
        errors["password_ref"] = _l(
            "Enter where to read the password: env:VARIABLE_NAME or file:/absolute/path."
            " Do not enter the password itself."
        )
    elif uses_imap and not password_ref:
        errors["password_ref"] = _l(
            "Enter where to read the IMAP password (env:NAME or file:/path)."
        )
    values["password_ref"] = password_ref

    port_text = _text(data, "imap_port")
    if not port_text:
        values["imap_port"] = DEFAULT_PORTS[tls]
    elif not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        errors["imap_port"] = _l("Enter a port number from 1 to 65535.")
    else:
        values["imap_port"] = int(port_text)

    folder = _text(data, "imap_folder") or "INBOX"
    archive = _text(data, "archive_folder") or None
    if len(folder) > 255:
        errors["imap_folder"] = _l("Use at most 255 characters.")
    if archive is not None and len(archive) > 255:
        errors["archive_folder"] = _l("Use at most 255 characters.")
    elif archive is not None and archive == folder:
        errors["archive_folder"] = _l("The archive folder must differ from the folder polled.")
    values["imap_folder"], values["archive_folder"] = folder, archive

    interval_text = _text(data, "poll_interval_seconds") or "60"
    if not interval_text.isdigit() or not (
        MIN_POLL_INTERVAL <= int(interval_text) <= MAX_POLL_INTERVAL
    ):
        errors["poll_interval_seconds"] = _l(
            "Enter a number of seconds from %(low)d to %(high)d.",
            low=MIN_POLL_INTERVAL,
            high=MAX_POLL_INTERVAL,
        )
    else:
        values["poll_interval_seconds"] = int(interval_text)

    start_text = _text(data, "start_date")
    values["start_date"] = None
    if start_text:
        try:
            day = date.fromisoformat(start_text)
            zone = ZoneInfo(timezone)
        except (ValueError, ZoneInfoNotFoundError):
            errors["start_date"] = _l("Enter a date as YYYY-MM-DD.")
        else:
            # Midnight where the admin is, so "from the 1st" means their 1st.
            values["start_date"] = datetime.combine(day, time(), tzinfo=zone)

    try:
        values["closed_reply_policy"] = ClosedReplyPolicy(
            _text(data, "closed_reply_policy") or ClosedReplyPolicy.reopen.value
        )
    except ValueError:
        errors["closed_reply_policy"] = _l("Choose what a reply to a closed ticket does.")

    values["send_acknowledgement"] = bool(data.get("send_acknowledgement"))
    values["is_active"] = bool(data.get("is_active"))
    values["assign_on_reply"] = bool(data.get("assign_on_reply", True))

    for key in ("signature", "signature_ko"):
        values[key] = _text(data, key)
        problem = signature_problem(values[key])
        if problem:
            errors[key] = problem

    values["reply_language"] = _text(data, "reply_language") or DEFAULT_REPLY_LANGUAGE
    if values["reply_language"] not in REPLY_LANGUAGES:
        errors["reply_language"] = _l("Choose English or Korean.")

    if errors:
        raise MailboxInvalid(errors)
    return values


@dataclass(frozen=True)
class QuarantinedMail:
    id: int
    received_at: datetime
    mailbox_name: str
    sender: str
    subject: str
    reason: str
    size: int


def count_quarantined(session: Session) -> int:
    return session.scalar(
        select(func.count())
        .select_from(RawMessage)
        .where(RawMessage.status == RawStatus.quarantined)
    )


def list_quarantined(
    session: Session, *, offset: int = 0, limit: int = 50
) -> list[QuarantinedMail]:
    rows = session.execute(
        select(RawMessage, Mailbox.name)
        .outerjoin(Mailbox, Mailbox.id == RawMessage.mailbox_id)
        .where(RawMessage.status == RawStatus.quarantined)
        .order_by(RawMessage.received_at.desc(), RawMessage.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [
        QuarantinedMail(
            id=raw.id,
            received_at=raw.received_at,
            mailbox_name=mailbox_name or "",
            reason=raw.status_reason,
            size=raw.size,
            **_summary(raw.content),
        )
        for raw, mailbox_name in rows
    ]


def _summary(content: bytes) -> dict[str, str]:
    # Quarantined mail is often malformed; the page must show whatever headers survive.
    try:
        headers = BytesHeaderParser(policy=default_policy).parsebytes(content)
        return {"sender": str(headers.get("From", "")), "subject": str(headers.get("Subject", ""))}
    except Exception:
        return {"sender": "", "subject": ""}
