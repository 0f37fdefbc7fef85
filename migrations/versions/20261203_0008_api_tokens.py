"""API tokens, idempotent responses, customers' external ids and orders from other systems

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 19:00:00

API tokens (stored hashed) with their scopes, expiry and use; the stored responses of
POSTs sent with an Idempotency-Key; an external id per customer; and purchases keyed by
their source system's order id, with a status and a refunded amount.
"""

from alembic import op
import sqlalchemy as sa

import helpdesk.db


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('personal', 'service', name='tokenkind', native_enum=False, length=20), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('scopes', sa.JSON(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_used_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('rate_limit', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_api_tokens_created_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'], unique=False)
    op.create_table(
        'api_idempotent_responses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_api_idempotent_responses_token_id_api_tokens'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_idempotent_responses')),
        sa.UniqueConstraint('token_id', 'key', name=op.f('uq_api_idempotent_responses_token_id')),
    )
    op.create_index(op.f('ix_api_idempotent_responses_created_at'), 'api_idempotent_responses', ['created_at'], unique=False)
    with op.batch_alter_table('customers') as batch:
        batch.add_column(sa.Column('external_id', sa.String(length=100), nullable=True))
    op.create_index(op.f('ix_customers_external_id'), 'customers', ['external_id'], unique=True)
    with op.batch_alter_table('purchases') as batch:
        batch.add_column(sa.Column('status', sa.Enum('paid', 'refunded', 'cancelled', name='purchasestatus', native_enum=False, length=20), server_default='paid', nullable=False))
        batch.add_column(sa.Column('refunded_amount', sa.Numeric(precision=12, scale=2), server_default='0', nullable=False))
        batch.add_column(sa.Column('source', sa.String(length=50), nullable=True))
        batch.add_column(sa.Column('order_id', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('updated_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True))
    op.create_index('uq_purchases_source_order_id', 'purchases', ['source', 'order_id'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_purchases_source_order_id', table_name='purchases')
    with op.batch_alter_table('purchases') as batch:
        batch.drop_column('updated_at')
        batch.drop_column('order_id')
        batch.drop_column('source')
        batch.drop_column('refunded_amount')
        batch.drop_column('status')
    op.drop_index(op.f('ix_customers_external_id'), table_name='customers')
    with op.batch_alter_table('customers') as batch:
        batch.drop_column('external_id')
    op.drop_index(op.f('ix_api_idempotent_responses_created_at'), table_name='api_idempotent_responses')
    op.drop_table('api_idempotent_responses')
    op.drop_index(op.f('ix_api_tokens_user_id'), table_name='api_tokens')
    op.drop_table('api_tokens')
