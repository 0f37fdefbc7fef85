"""agents' notifications, their switches per kind, and watched mailboxes

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 19:00:00

Notifications (in the app and by mail) of assignments, mentions, customer replies,
overdue tickets and new tickets in watched mailboxes; each agent's switches per kind;
the mailboxes each agent watches.
"""

from alembic import op
import sqlalchemy as sa

import helpdesk.db


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

KINDS = ('assigned', 'mentioned', 'customer_replied', 'overdue', 'new_ticket')


def _kind():
    return sa.Enum(*KINDS, name='notificationkind', native_enum=False, length=20)


def upgrade() -> None:
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', _kind(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('in_app', sa.Boolean(), nullable=False),
        sa.Column('send_email', sa.Boolean(), nullable=False),
        sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('read_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('emailed_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['actor_id'], ['users.id'],
            name=op.f('fk_notifications_actor_id_users'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['ticket_id'], ['tickets.id'],
            name=op.f('fk_notifications_ticket_id_tickets'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'],
            name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    )
    op.create_index(
        'ix_notifications_user_unread', 'notifications', ['user_id', 'read_at'], unique=False
    )
    op.create_index(
        'ix_notifications_ticket_kind', 'notifications', ['ticket_id', 'kind'], unique=False
    )
    op.create_index(
        'ix_notifications_send_email', 'notifications', ['send_email'], unique=False
    )
    op.create_table(
        'notification_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', _kind(), nullable=False),
        sa.Column('in_app', sa.Boolean(), nullable=False),
        sa.Column('email', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'],
            name=op.f('fk_notification_settings_user_id_users'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_settings')),
        sa.UniqueConstraint('user_id', 'kind', name=op.f('uq_notification_settings_user_id')),
    )
    op.create_table(
        'mailbox_watches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('mailbox_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['mailbox_id'], ['mailboxes.id'],
            name=op.f('fk_mailbox_watches_mailbox_id_mailboxes'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'],
            name=op.f('fk_mailbox_watches_user_id_users'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mailbox_watches')),
        sa.UniqueConstraint('user_id', 'mailbox_id', name=op.f('uq_mailbox_watches_user_id')),
    )


def downgrade() -> None:
    op.drop_table('mailbox_watches')
    op.drop_table('notification_settings')
    op.drop_index('ix_notifications_send_email', table_name='notifications')
    op.drop_index('ix_notifications_ticket_kind', table_name='notifications')
    op.drop_index('ix_notifications_user_unread', table_name='notifications')
    op.drop_table('notifications')
