"""The events table: the outbox every feature appends to and every consumer reads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.db import Base, UTCDateTime, utcnow


class Event(Base):
    """`id` is the event's position in the stream; `uid` is its stable public id, the same
    in every delivery of it, so receivers can recognise a repeat."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_subject", "subject_kind", "subject_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    # What the event is about (a ticket, a customer, ...): events of one subject are
    # delivered in order.
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    @property
    def subject_key(self) -> str:
        return f"{self.subject_kind}:{self.subject_id}"
