"""Contact notes: calls, meetings, chats and other contact an agent records on a customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from helpdesk.customers.models import ContactNote, Customer, NoteKind
from helpdesk.customers.service.errors import NoteInvalid
from helpdesk.customers.service.purchases import _to_utc
from helpdesk.db import utcnow
from helpdesk.text import LazyText
from helpdesk.text import lazy_text as _l

MAX_NOTE = 10_000


def add_note(
    session: Session,
    customer: Customer,
    *,
    author_id: int | None,
    kind: NoteKind | str,
    happened_at: datetime | str,
    body: str,
    tz: tzinfo = UTC,
    now: datetime | None = None,
) -> ContactNote:
    now = now or utcnow()
    errors: dict[str, LazyText] = {}
    try:
        note_kind = NoteKind(kind)
    except ValueError:
        errors["kind"] = _l("Choose call, meeting, chat or other.")
        note_kind = NoteKind.other
    text = (body or "").strip()
    if not text:
        errors["body"] = _l("Write what was discussed.")
    elif len(text) > MAX_NOTE:
        errors["body"] = _l("At most %(max)d characters.", max=MAX_NOTE)
    try:
        when = _to_utc(happened_at, tz, with_time=True)
        # A note records something that happened; a small margin allows for clock skew.
        if when > now + timedelta(minutes=5):
            errors["happened_at"] = _l("The contact cannot be in the future.")
    except (ValueError, TypeError):
        errors["happened_at"] = _l("Enter the date and time of the contact.")
        when = now
    if errors:
        raise NoteInvalid(errors)
    note = ContactNote(
        customer_id=customer.id,
        author_id=author_id,
        kind=note_kind,
        happened_at=when,
        body=text,
        created_at=now,
    )
    session.add(note)
    session.flush()
    return note


def notes_of(session: Session, customer_id: int) -> list[ContactNote]:
    return list(
        session.scalars(
            select(ContactNote)
            .options(selectinload(ContactNote.author))
            .where(ContactNote.customer_id == customer_id)
            .order_by(ContactNote.happened_at.desc(), ContactNote.id.desc())
        )
    )
