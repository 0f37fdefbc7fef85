"""what made the first mail with a Message-ID that mail: seen_messages.identity

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 16:10:00

Dedupe went by Message-ID alone, so a different mail reusing one (broken senders, some
gateways) was dropped as a duplicate. Each ledger row now keeps its holder's identity
(helpdesk.inbound.incoming.mail_identity: Message-ID, sender, Date); a copy is a
duplicate only when that matches. Existing rows stay NULL and get it from their raw
message's bytes the first time a mail with the same Message-ID arrives.
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('seen_messages', sa.Column('identity', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('seen_messages') as batch:
        batch.drop_column('identity')
