"""What the help centre records for the dashboard that no other table holds: article views
and customer searches counted per hour, and which articles a visitor read before writing
through the contact form.

Counts are kept per hour (not one row per visit) so a year of traffic stays small and a
90-day sum reads a few thousand rows; an hour bucket also lets a date range in any time
zone with a whole-hour offset be summed exactly.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.db import Base, UTCDateTime, utcnow

MAX_QUERY_LENGTH = 200


class ArticleViewCount(Base):
    """Public page views of an article by visitors (staff are not counted) in one hour."""

    __tablename__ = "dashboard_article_views"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("faq_articles.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    views: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_dashboard_article_views_hour", "hour", "article_id", "views"),)


class SearchCount(Base):
    """Public FAQ searches of one normalized query in one hour, and how many found nothing."""

    __tablename__ = "dashboard_faq_searches"

    query: Mapped[str] = mapped_column(String(MAX_QUERY_LENGTH), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)
    searches: Mapped[int] = mapped_column(Integer, default=0)
    empty_searches: Mapped[int] = mapped_column(Integer, default=0)


class ContactAfterFaq(Base):
    """One contact-form submission that made or joined a ticket, with what the visitor
    read first: `articles_read` articles in this browser session, the last of them
    `last_article_id` (both empty when the visitor came straight to the form)."""

    __tablename__ = "dashboard_faq_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    articles_read: Mapped[int] = mapped_column(Integer, default=0)
    last_article_id: Mapped[int | None] = mapped_column(
        ForeignKey("faq_articles.id", ondelete="SET NULL")
    )


# Covering indexes for the dashboard's range queries: each reads one index range (tickets
# created, first answered or resolved in the range; replies written in it) without a
# lookup of the rows themselves, on SQLite and (index-only scans) on PostgreSQL.
def _dashboard_indexes() -> None:
    from helpdesk.tickets.models import Message, Ticket

    Index(
        "ix_tickets_dashboard_created",
        Ticket.created_at,
        Ticket.mailbox_id,
        Ticket.merged_into_id,
        Ticket.status,
        Ticket.assignee_id,
        Ticket.priority,
        Ticket.first_response_at,
        Ticket.first_response_due_at,
    )
    Index(
        "ix_tickets_dashboard_first_response",
        Ticket.first_response_at,
        Ticket.created_at,
        Ticket.assignee_id,
        Ticket.mailbox_id,
        Ticket.merged_into_id,
        Ticket.priority,
        Ticket.first_response_due_at,
    )
    Index(
        "ix_tickets_dashboard_resolved",
        Ticket.resolved_at,
        Ticket.status,
        Ticket.created_at,
        Ticket.assignee_id,
        Ticket.mailbox_id,
        Ticket.merged_into_id,
    )
    Index(
        "ix_messages_dashboard_kind_created",
        Message.kind,
        Message.created_at,
        Message.author_id,
        Message.ticket_id,
    )


_dashboard_indexes()
