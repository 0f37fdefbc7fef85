"""Saved replies, and each time one was inserted into a reply (for the usage count)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.db import Base, UTCDateTime, utcnow


class SavedReply(Base):
    """A reply text; shared with every agent when `owner_id` is None, else personal."""

    __tablename__ = "saved_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    # Folders are names: replies with the same folder are listed together.
    folder: Mapped[str] = mapped_column(String(100), default="", index=True)
    body: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    used_in_replies: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None


class SavedReplyUse(Base):
    """An agent inserted the saved reply into a reply on a ticket."""

    __tablename__ = "saved_reply_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    saved_reply_id: Mapped[int] = mapped_column(
        ForeignKey("saved_replies.id", ondelete="CASCADE"), index=True
    )
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
