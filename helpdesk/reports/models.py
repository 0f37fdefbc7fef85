"""Indexes on the tickets tables for the dashboard's range queries. The help-centre
visit counts the dashboard reads are the FAQ's tables (helpdesk.faq.models)."""

from __future__ import annotations

from sqlalchemy import Index


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
