"""signatures in English and Korean, and each mailbox's language of replies

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 15:00:00

The existing signatures stay the English ones; a Korean one is added beside each, and
mailboxes answer customers of unknown language in English, as before.
"""

from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('signature_ko', sa.Text(), server_default='', nullable=False))
    with op.batch_alter_table('mailboxes') as batch:
        batch.add_column(sa.Column('signature_ko', sa.Text(), server_default='', nullable=False))
        batch.add_column(
            sa.Column('reply_language', sa.String(length=2), server_default='en', nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('mailboxes') as batch:
        batch.drop_column('reply_language')
        batch.drop_column('signature_ko')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('signature_ko')
