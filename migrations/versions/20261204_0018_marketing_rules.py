"""marketing rules: a frequency cap per customer and quiet hours

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 15:00:00

One row of organisation-wide rules; each campaign says whether a message they hold back
is deferred or skipped, and each delivery remembers whether they held it back, for the
report.
"""

from alembic import op
import sqlalchemy as sa

import helpdesk.db


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'marketing_rules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cap_messages', sa.Integer(), nullable=True),
        sa.Column('cap_days', sa.Integer(), nullable=False),
        sa.Column('quiet_start', sa.Time(), nullable=True),
        sa.Column('quiet_end', sa.Time(), nullable=True),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('updated_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_marketing_rules')),
    )
    op.add_column(
        'campaigns',
        sa.Column(
            'hold_action',
            sa.Enum('defer', 'skip', name='holdaction', native_enum=False, length=20),
            nullable=False,
            server_default='defer',
        ),
    )
    for name in ('held_by_cap', 'held_by_quiet_hours'):
        op.add_column(
            'deliveries',
            sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false()),
        )


def downgrade() -> None:
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_column('held_by_quiet_hours')
        batch.drop_column('held_by_cap')
    with op.batch_alter_table('campaigns') as batch:
        batch.drop_column('hold_action')
    op.drop_table('marketing_rules')
