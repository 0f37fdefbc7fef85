"""Sending identities: the From addresses (with name and Reply-To) campaigns may use.

An address becomes usable once someone with access to its mailbox opens the signed,
expiring link mailed to it, so a campaign cannot go out in the name of an address the
organisation does not hold. One verified identity is the default a new campaign starts with.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from helpdesk.campaigns.models import Campaign, SendingIdentity
from helpdesk.mail.addresses import writable_sender
from helpdesk.text import lazy_text as _l

SALT = "helpdesk.sending-identity"
CONFIRM_MAX_AGE = timedelta(days=3)


class IdentityInvalid(ValueError):
    """Identity input that cannot be saved; `errors` maps field to message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{key}: {value}" for key, value in errors.items()))


class IdentityRefused(ValueError):
    """A forged, expired or stale confirmation link, or an action the identity's state
    does not allow (making an unverified address the default)."""


def _address(raw: str, errors: dict[str, str], key: str, *, required: bool) -> str:
    text = (raw or "").strip()
    if not text:
        if required:
            errors[key] = _l("Enter an email address.")
        return ""
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        errors[key] = _l("Not a valid email address: %(reason)s", reason=str(exc))
        return text


def list_identities(session: Session) -> list[SendingIdentity]:
    return list(
        session.scalars(
            select(SendingIdentity).order_by(
                SendingIdentity.is_default.desc(), SendingIdentity.email
            )
        )
    )


def verified_identities(session: Session) -> list[SendingIdentity]:
    return [identity for identity in list_identities(session) if identity.verified_at]


def default_identity(session: Session) -> SendingIdentity | None:
    return session.scalar(
        select(SendingIdentity).where(
            SendingIdentity.is_default.is_(True), SendingIdentity.verified_at.is_not(None)
        )
    )


def add_identity(session: Session, *, email: str, name: str, reply_to: str) -> SendingIdentity:
    """A new, unverified identity; the caller mails it the confirmation link."""
    errors: dict[str, str] = {}
    address = _address(email, errors, "email", required=True)
    reply = _address(reply_to, errors, "reply_to", required=False)
    display = " ".join((name or "").split())
    if len(display) > 200:
        errors["name"] = _l("Use at most 200 characters.")
    elif display and "email" not in errors and not writable_sender(display, address):
        errors["name"] = _l("This name cannot be used in an email. Leave out unusual characters.")
    if "email" not in errors and session.scalar(
        select(SendingIdentity.id).where(func.lower(SendingIdentity.email) == address.lower())
    ):
        errors["email"] = _l("This address is already a sending identity.")
    if errors:
        raise IdentityInvalid(errors)
    identity = SendingIdentity(email=address, name=display, reply_to=reply, is_default=False)
    session.add(identity)
    session.flush()
    return identity


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def confirmation_token(identity: SendingIdentity, secret_key: str) -> str:
    # The address is signed too: a link for a removed and re-added identity id with
    # another address confirms nothing.
    return _serializer(secret_key).dumps({"identity": identity.id, "email": identity.email})


def confirm_identity(
    session: Session, token: str, secret_key: str, now: datetime
) -> SendingIdentity:
    """Mark the identity of a valid link verified; the first verified one becomes the
    default. Raises IdentityRefused."""
    try:
        payload = _serializer(secret_key).loads(token, max_age=CONFIRM_MAX_AGE.total_seconds())
    except SignatureExpired:
        raise IdentityRefused(_l("This confirmation link has expired.")) from None
    except BadSignature:
        raise IdentityRefused(_l("This confirmation link is not valid.")) from None
    identity_id = payload.get("identity") if isinstance(payload, dict) else None
    identity = session.get(SendingIdentity, identity_id) if isinstance(identity_id, int) else None
    if identity is None or identity.email != payload.get("email"):
        raise IdentityRefused(_l("This sending address no longer exists."))
    if identity.verified_at is None:
        identity.verified_at = now
        if default_identity(session) is None:
            identity.is_default = True
    session.flush()
    return identity


def set_default(session: Session, identity_id: int) -> SendingIdentity:
    identity = session.get(SendingIdentity, identity_id)
    if identity is None:
        raise IdentityRefused(_l("This sending address no longer exists."))
    if identity.verified_at is None:
        raise IdentityRefused(_l("Only a confirmed address can be the default."))
    session.execute(
        update(SendingIdentity)
        .where(SendingIdentity.id != identity_id)
        .values(is_default=False)
        .execution_options(synchronize_session=False)
    )
    identity.is_default = True
    session.flush()
    session.expire_all()
    return identity


def remove_identity(session: Session, identity_id: int) -> None:
    """Remove an identity; campaigns keep the From they were saved with."""
    identity = session.get(SendingIdentity, identity_id)
    if identity is None:
        raise IdentityRefused(_l("This sending address no longer exists."))
    session.execute(
        update(Campaign)
        .where(Campaign.sending_identity_id == identity_id)
        .values(sending_identity_id=None)
        .execution_options(synchronize_session=False)
    )
    session.delete(identity)
    session.flush()


def apply_identity(session: Session, values: dict, identity_id: int | None) -> str:
    """Put a verified identity's From and Reply-To into a campaign's `values`; returns an
    error message, or "" when applied. Without an id the default identity is used, and
    with no default either the values keep the From they have."""
    identity = (
        session.get(SendingIdentity, identity_id)
        if identity_id is not None
        else default_identity(session)
    )
    if identity is None:
        return _l("Choose a sending address from the list.") if identity_id is not None else ""
    if identity.verified_at is None:
        return _l("This sending address is not confirmed yet.")
    values.update(
        sending_identity_id=identity.id,
        from_name=identity.name,
        from_email=identity.email,
        reply_to=identity.reply_to,
    )
    return ""
