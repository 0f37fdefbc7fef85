"""API tokens: made (shown once), looked up by their hash, revoked; plain functions over a
session, like every service."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from helpdesk.api.models import ApiToken, TokenKind
from helpdesk.api.scopes import ROLE_SCOPES, SCOPES, SERVICE_SCOPES
from helpdesk.auth.models import User
from helpdesk.customers.service import InvalidInput
from helpdesk.db import utcnow
from helpdesk.normalize import normalize_text
from helpdesk.text import lazy_text as _l

# "hd_" makes a leaked token recognizable to secret scanners and people alike.
TOKEN_MARK = "hd_"
PREFIX_LENGTH = len(TOKEN_MARK) + 8
MAX_EXPIRY_DAYS = 3650
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenInvalid(InvalidInput):
    pass


@dataclass(frozen=True)
class Caller:
    """Who is making an API request: the token and what it may do right now."""

    token_id: int
    user_id: int | None
    scopes: frozenset[str]
    rate_limit: int | None


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    # The only time the secret exists outside the client: shown once, never stored.
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def allowed_scopes(kind: TokenKind, owner: User | None) -> frozenset[str]:
    if kind == TokenKind.service:
        return SERVICE_SCOPES
    if owner is None or not owner.is_active:
        return frozenset()
    return ROLE_SCOPES[owner.role]


def create_token(
    session: Session,
    *,
    kind: TokenKind,
    name: str,
    scopes: Iterable[str],
    created_by: User,
    expires_in_days: int | None,
    rate_limit: int | None = None,
    now: datetime | None = None,
) -> NewToken:
    """A personal token belongs to `created_by`; a service token (admins only) to no one."""
    now = now or utcnow()
    errors = {}
    name = normalize_text(name)
    if not name:
        errors["name"] = _l("Give the token a name.")
    elif len(name) > 100:
        errors["name"] = _l("At most 100 characters.")
    scopes = sorted(set(scopes))
    owner = created_by if kind == TokenKind.personal else None
    allowed = allowed_scopes(kind, owner)
    if kind == TokenKind.service and created_by.role != "admin":
        errors["kind"] = _l("Only admins can make service tokens.")
    if not scopes:
        errors["scopes"] = _l("Choose at least one scope.")
    elif unknown := [s for s in scopes if s not in SCOPES]:
        errors["scopes"] = _l("Unknown scope %(scope)s.", scope=unknown[0])
    elif refused := [s for s in scopes if s not in allowed]:
        errors["scopes"] = _l("Your role cannot grant %(scope)s.", scope=refused[0])
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        errors["expires_in_days"] = _l(
            "Expiry must be from 1 to %(max)d days.", max=MAX_EXPIRY_DAYS
        )
    if errors:
        raise TokenInvalid(errors)
    secret = TOKEN_MARK + secrets.token_urlsafe(32)
    token = ApiToken(
        kind=kind,
        name=name,
        prefix=secret[:PREFIX_LENGTH],
        token_hash=hash_secret(secret),
        scopes=scopes,
        user_id=owner.id if owner else None,
        created_by_id=created_by.id,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        rate_limit=rate_limit,
    )
    session.add(token)
    session.flush()
    return NewToken(token, secret)


def authenticate(session: Session, secret: str, *, now: datetime | None = None) -> Caller | None:
    """The live token for `secret` with its effective scopes, or None (unknown, revoked,
    expired, or its owner deactivated). Notes the time of use."""
    now = now or utcnow()
    token = session.scalar(
        select(ApiToken)
        .options(joinedload(ApiToken.user))
        .where(ApiToken.token_hash == hash_secret(secret))
    )
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    scopes = frozenset(token.scopes) & allowed_scopes(token.kind, token.user)
    if token.kind == TokenKind.personal and not scopes:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
    return Caller(token.id, token.user_id, scopes, token.rate_limit)


def personal_tokens(session: Session, user_id: int) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.kind == TokenKind.personal)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def all_tokens(session: Session) -> list[ApiToken]:
    """Service tokens first, then personal ones; newest first in each."""
    return list(
        session.scalars(
            select(ApiToken).order_by(
                ApiToken.kind.desc(), ApiToken.created_at.desc(), ApiToken.id.desc()
            )
        )
    )


def revoke_token(session: Session, token: ApiToken, *, now: datetime | None = None) -> None:
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
