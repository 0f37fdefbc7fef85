"""webhook pause notices, Idempotency-Key reservations

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 15:00:00

An endpoint records when admins were mailed about its auto-pause, so they are mailed once
per pause. An Idempotency-Key is reserved before its request runs: the stored response has
no status code until the request is done.
"""

from alembic import op
import sqlalchemy as sa

import helpdesk.db


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('webhook_endpoints') as batch:
        batch.add_column(
            sa.Column('pause_notified_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table('api_idempotent_responses') as batch:
        batch.alter_column('status_code', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute('DELETE FROM api_idempotent_responses WHERE status_code IS NULL')
    with op.batch_alter_table('api_idempotent_responses') as batch:
        batch.alter_column('status_code', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('webhook_endpoints') as batch:
        batch.drop_column('pause_notified_at')
