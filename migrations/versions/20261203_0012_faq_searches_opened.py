"""count FAQ searches after which the visitor opened a result

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 19:00:00

A search that found articles none of which the visitor opened did not answer the
question either; the dashboard's content-gap report counts those next to the searches
that found nothing. Existing rows start at zero opened: the past is not known.
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        'dashboard_faq_searches',
        sa.Column('opened_searches', sa.Integer(), nullable=False, server_default='0'),
    )


def downgrade() -> None:
    with op.batch_alter_table('dashboard_faq_searches') as batch:
        batch.drop_column('opened_searches')
