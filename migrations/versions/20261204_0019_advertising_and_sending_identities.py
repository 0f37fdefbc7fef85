"""advertising campaigns, marketing settings, sending identities, customer locale

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 15:30:00

Campaigns can be marked as advertising (Korean "(광고)" rules) and pick a verified
sending identity; customers carry a night-time advertising consent, a time zone and a
language for formatting.
"""

from alembic import op
import sqlalchemy as sa

import helpdesk.db


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'marketing_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sender_name', sa.String(length=200), nullable=False),
        sa.Column('sender_contact', sa.String(length=500), nullable=False),
        sa.Column(
            'night_mode',
            sa.Enum('defer', 'consent', name='nightadmode', native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column('updated_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_marketing_settings')),
    )
    op.create_table(
        'sending_identities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('reply_to', sa.String(length=320), nullable=False),
        sa.Column('is_default', sa.Boolean(), nullable=False),
        sa.Column('verified_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sending_identities')),
        sa.UniqueConstraint('email', name=op.f('uq_sending_identities_email')),
    )
    # Plain ADD COLUMNs: SQLite's table rebuild would drop `customers` and `campaigns`,
    # which other tables' foreign keys point at.
    op.add_column('campaigns', sa.Column('sending_identity_id', sa.Integer(), nullable=True))
    op.add_column(
        'campaigns',
        sa.Column('advertising', sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        'customers',
        sa.Column('night_ad_consent_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    )
    op.add_column(
        'customers', sa.Column('timezone', sa.String(length=64), server_default='', nullable=False)
    )
    op.add_column(
        'customers', sa.Column('language', sa.String(length=10), server_default='', nullable=False)
    )


def downgrade() -> None:
    with op.batch_alter_table('customers') as batch:
        batch.drop_column('language')
        batch.drop_column('timezone')
        batch.drop_column('night_ad_consent_at')
    with op.batch_alter_table('campaigns') as batch:
        batch.drop_column('advertising')
        batch.drop_column('sending_identity_id')
    op.drop_table('sending_identities')
    op.drop_table('marketing_settings')
