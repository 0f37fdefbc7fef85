"""revocable sessions and password-reset requests

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 16:00:00

Each user gets a session version that every login cookie carries (logout, a password or
role change and deactivation move it on, so older cookies stop working), and "forgot
password" requests are recorded to rate-limit them by address and by client IP.
"""

from alembic import op
import sqlalchemy as sa

import helpdesk.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(
            sa.Column('session_version', sa.Integer(), server_default='0', nullable=False)
        )
    op.create_table(
        'password_reset_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=False),
        sa.Column('at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_password_reset_requests')),
    )
    op.create_index(
        op.f('ix_password_reset_requests_at'), 'password_reset_requests', ['at'], unique=False
    )
    op.create_index(
        op.f('ix_password_reset_requests_email'),
        'password_reset_requests',
        ['email'],
        unique=False,
    )
    op.create_index(
        op.f('ix_password_reset_requests_ip'), 'password_reset_requests', ['ip'], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_password_reset_requests_ip'), table_name='password_reset_requests')
    op.drop_index(op.f('ix_password_reset_requests_email'), table_name='password_reset_requests')
    op.drop_index(op.f('ix_password_reset_requests_at'), table_name='password_reset_requests')
    op.drop_table('password_reset_requests')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('session_version')
