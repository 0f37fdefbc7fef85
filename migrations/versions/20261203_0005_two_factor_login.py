"""two-factor login: TOTP secrets, recovery codes and the enforcement setting

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 16:00:00

Staff can add a second step to their login: a code from an authenticator app (the
secret stored encrypted), or a single-use recovery code (stored hashed). An admin can
require it for all staff (one row in two_factor_settings).
"""

from alembic import op
import sqlalchemy as sa
import helpdesk.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('two_factor_secrets',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret_encrypted', sa.String(length=255), nullable=False),
    sa.Column('created_at', helpdesk.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_step', sa.Integer(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('attempts_since', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_two_factor_secrets_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_two_factor_secrets'))
    )
    op.create_table('two_factor_recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('used_at', helpdesk.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_two_factor_recovery_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_two_factor_recovery_codes')),
    sa.UniqueConstraint('user_id', 'code_hash', name=op.f('uq_two_factor_recovery_codes_user_id'))
    )
    op.create_index(op.f('ix_two_factor_recovery_codes_user_id'), 'two_factor_recovery_codes', ['user_id'], unique=False)
    op.create_table('two_factor_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enforced', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_two_factor_settings'))
    )


def downgrade() -> None:
    op.drop_table('two_factor_settings')
    op.drop_index(op.f('ix_two_factor_recovery_codes_user_id'), table_name='two_factor_recovery_codes')
    op.drop_table('two_factor_recovery_codes')
    op.drop_table('two_factor_secrets')
