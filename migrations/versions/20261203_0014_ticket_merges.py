"""ticket merges, kept so that a merge can be undone

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 19:00:00

Each merge records what it moved and both tickets' fields before it, so that an agent
can undo it for a few minutes.
"""

from alembic import op
import sqlalchemy as sa

import helpdesk.db


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'ticket_merges',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=False),
        sa.Column('merged_by_id', sa.Integer(), nullable=True),
        sa.Column('merged_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('moved', sa.JSON(), nullable=False),
        sa.Column('source_before', sa.JSON(), nullable=False),
        sa.Column('target_before', sa.JSON(), nullable=False),
        sa.Column('undone_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('undone_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['merged_by_id'], ['users.id'],
            name=op.f('fk_ticket_merges_merged_by_id_users'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['source_id'], ['tickets.id'],
            name=op.f('fk_ticket_merges_source_id_tickets'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['target_id'], ['tickets.id'],
            name=op.f('fk_ticket_merges_target_id_tickets'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['undone_by_id'], ['users.id'],
            name=op.f('fk_ticket_merges_undone_by_id_users'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_merges')),
    )
    op.create_index(
        op.f('ix_ticket_merges_source_id'), 'ticket_merges', ['source_id'], unique=False
    )
    op.create_index(
        op.f('ix_ticket_merges_target_id'), 'ticket_merges', ['target_id'], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_ticket_merges_target_id'), table_name='ticket_merges')
    op.drop_index(op.f('ix_ticket_merges_source_id'), table_name='ticket_merges')
    op.drop_table('ticket_merges')
