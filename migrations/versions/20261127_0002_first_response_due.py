"""first response due time kept on tickets

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 08:20:00

The dashboard measured first responses against the target in wall-clock time; tickets
now keep the due time they had (business hours included). Existing tickets get theirs
from what is known: an unanswered one its current due time, an answered one its creation
plus the target of its mailbox and priority in wall-clock time, as the dashboard counted
it until now.
"""

from datetime import timedelta

from alembic import op
import sqlalchemy as sa
import helpdesk.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# helpdesk.tickets.sla.DEFAULT_FIRST_RESPONSE_MINUTES at this revision.
DEFAULT_FIRST_RESPONSE_MINUTES = 4 * 60

tickets = sa.table(
    'tickets',
    sa.column('id', sa.Integer),
    sa.column('created_at', helpdesk.db.UTCDateTime(timezone=True)),
    sa.column('mailbox_id', sa.Integer),
    sa.column('priority', sa.String),
    sa.column('first_response_at', helpdesk.db.UTCDateTime(timezone=True)),
    sa.column('response_due_at', helpdesk.db.UTCDateTime(timezone=True)),
    sa.column('first_response_due_at', helpdesk.db.UTCDateTime(timezone=True)),
)
policies = sa.table(
    'sla_policies',
    sa.column('mailbox_id', sa.Integer),
    sa.column('priority', sa.String),
    sa.column('first_response_minutes', sa.Integer),
)


def upgrade() -> None:
    op.add_column(
        'tickets',
        sa.Column('first_response_due_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    )
    _backfill(op.get_bind())
    op.drop_index('ix_tickets_dashboard_created', table_name='tickets')
    op.drop_index('ix_tickets_dashboard_first_response', table_name='tickets')
    op.create_index('ix_tickets_dashboard_created', 'tickets', ['created_at', 'mailbox_id', 'merged_into_id', 'status', 'assignee_id', 'priority', 'first_response_at', 'first_response_due_at'], unique=False)
    op.create_index('ix_tickets_dashboard_first_response', 'tickets', ['first_response_at', 'created_at', 'assignee_id', 'mailbox_id', 'merged_into_id', 'priority', 'first_response_due_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tickets_dashboard_first_response', table_name='tickets')
    op.drop_index('ix_tickets_dashboard_created', table_name='tickets')
    op.create_index('ix_tickets_dashboard_first_response', 'tickets', ['first_response_at', 'created_at', 'assignee_id', 'mailbox_id', 'merged_into_id', 'priority'], unique=False)
    op.create_index('ix_tickets_dashboard_created', 'tickets', ['created_at', 'mailbox_id', 'merged_into_id', 'status', 'assignee_id', 'priority', 'first_response_at'], unique=False)
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('first_response_due_at')


def _backfill(bind) -> None:
    bind.execute(
        tickets.update()
        .where(tickets.c.first_response_at.is_(None))
        .values(first_response_due_at=tickets.c.response_due_at)
    )
    minutes = {
        (mailbox_id, priority): value
        for mailbox_id, priority, value in bind.execute(
            sa.select(policies.c.mailbox_id, policies.c.priority, policies.c.first_response_minutes)
        )
    }
    answered = bind.execute(
        sa.select(tickets.c.id, tickets.c.created_at, tickets.c.mailbox_id, tickets.c.priority)
        .where(tickets.c.first_response_at.is_not(None))
    ).all()
    due = [
        {
            'ticket_id': ticket_id,
            'due': created_at + timedelta(
                minutes=minutes.get((mailbox_id, priority))
                or minutes.get((None, priority))
                or DEFAULT_FIRST_RESPONSE_MINUTES
            ),
        }
        for ticket_id, created_at, mailbox_id, priority in answered
    ]
    if due:
        bind.execute(
            tickets.update()
            .where(tickets.c.id == sa.bindparam('ticket_id'))
            .values(first_response_due_at=sa.bindparam('due')),
            due,
        )
