"""saved replies, signatures and assigning on reply

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 19:00:00

Saved replies (shared or personal, in folders) with a count of their uses and a row per
use; a signature per agent and per mailbox; and the mailbox setting that gives an
unassigned ticket to the agent who replies (on for existing mailboxes too).
"""

from alembic import op
import sqlalchemy as sa

import helpdesk.db


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('signature', sa.Text(), server_default='', nullable=False))
    with op.batch_alter_table('mailboxes') as batch:
        batch.add_column(sa.Column('signature', sa.Text(), server_default='', nullable=False))
        batch.add_column(
            sa.Column('assign_on_reply', sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    op.create_table(
        'saved_replies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('folder', sa.String(length=100), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('used_in_replies', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['created_by_id'],
            ['users.id'],
            name=op.f('fk_saved_replies_created_by_id_users'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['owner_id'],
            ['users.id'],
            name=op.f('fk_saved_replies_owner_id_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_replies')),
    )
    op.create_index(op.f('ix_saved_replies_folder'), 'saved_replies', ['folder'], unique=False)
    op.create_index(op.f('ix_saved_replies_owner_id'), 'saved_replies', ['owner_id'], unique=False)
    op.create_table(
        'saved_reply_uses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('saved_reply_id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['saved_reply_id'],
            ['saved_replies.id'],
            name=op.f('fk_saved_reply_uses_saved_reply_id_saved_replies'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['ticket_id'],
            ['tickets.id'],
            name=op.f('fk_saved_reply_uses_ticket_id_tickets'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'],
            ['users.id'],
            name=op.f('fk_saved_reply_uses_user_id_users'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_reply_uses')),
    )
    op.create_index(
        op.f('ix_saved_reply_uses_saved_reply_id'),
        'saved_reply_uses',
        ['saved_reply_id'],
        unique=False,
    )
    op.create_index(
        op.f('ix_saved_reply_uses_ticket_id'), 'saved_reply_uses', ['ticket_id'], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_saved_reply_uses_ticket_id'), table_name='saved_reply_uses')
    op.drop_index(op.f('ix_saved_reply_uses_saved_reply_id'), table_name='saved_reply_uses')
    op.drop_table('saved_reply_uses')
    op.drop_index(op.f('ix_saved_replies_owner_id'), table_name='saved_replies')
    op.drop_index(op.f('ix_saved_replies_folder'), table_name='saved_replies')
    op.drop_table('saved_replies')
    with op.batch_alter_table('mailboxes') as batch:
        batch.drop_column('assign_on_reply')
        batch.drop_column('signature')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('signature')
