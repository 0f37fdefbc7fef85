"""satisfaction surveys after resolved tickets

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 15:00:00

Each mailbox's survey settings (on/off, delay, the question in English and Korean, the
quiet period per customer, what a bad rating does) and one survey per ticket with its
rating and comment.
"""

from alembic import op
import sqlalchemy as sa

import helpdesk.db


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, length=20)


def upgrade() -> None:
    op.create_table(
        'survey_settings',
        sa.Column('mailbox_id', sa.Integer(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('enabled_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('delay_minutes', sa.Integer(), nullable=False),
        sa.Column('question_en', sa.Text(), nullable=False),
        sa.Column('question_ko', sa.Text(), nullable=False),
        sa.Column('quiet_days', sa.Integer(), nullable=False),
        sa.Column(
            'bad_rating_action',
            _enum('badratingaction', 'nothing', 'reopen', 'notify_assignee'),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ['mailbox_id'], ['mailboxes.id'],
            name=op.f('fk_survey_settings_mailbox_id_mailboxes'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('mailbox_id', name=op.f('pk_survey_settings')),
    )
    op.create_table(
        'surveys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('mailbox_id', sa.Integer(), nullable=True),
        sa.Column('agent_id', sa.Integer(), nullable=True),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column(
            'state', _enum('surveystate', 'sending', 'sent', 'failed', 'skipped'), nullable=False
        ),
        sa.Column(
            'skip_reason',
            _enum(
                'skipreason', 'merged', 'spam', 'duplicate', 'auto_reply', 'bounce',
                'recently_surveyed',
            ),
            nullable=True,
        ),
        sa.Column('send_error', sa.Text(), nullable=False),
        sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('rating', _enum('rating', 'good', 'ok', 'bad'), nullable=True),
        sa.Column('rated_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('commented_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['agent_id'], ['users.id'],
            name=op.f('fk_surveys_agent_id_users'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['customer_id'], ['customers.id'],
            name=op.f('fk_surveys_customer_id_customers'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['mailbox_id'], ['mailboxes.id'],
            name=op.f('fk_surveys_mailbox_id_mailboxes'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['ticket_id'], ['tickets.id'],
            name=op.f('fk_surveys_ticket_id_tickets'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_surveys')),
        sa.UniqueConstraint('ticket_id', name=op.f('uq_surveys_ticket_id')),
        sa.UniqueConstraint('token', name=op.f('uq_surveys_token')),
    )
    op.create_index('ix_surveys_agent_id', 'surveys', ['agent_id'], unique=False)
    op.create_index('ix_surveys_mailbox_id', 'surveys', ['mailbox_id'], unique=False)
    op.create_index('ix_surveys_rated_at', 'surveys', ['rated_at'], unique=False)
    op.create_index(
        'ix_surveys_customer_created', 'surveys', ['customer_id', 'created_at'], unique=False
    )


def downgrade() -> None:
    op.drop_table('surveys')
    op.drop_table('survey_settings')
