"""given and family names on customers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 09:30:00

Campaign greetings took the first word of the name, which is the family name of a
Korean name ("김 민준" was greeted as 김). Customers now keep a given and a family name.
Existing customers get them from their name by the application's rule
(helpdesk.customers.names.split_name), the same one that fills them for customers
created from now on, and count as "not entered", so they follow later name changes.
"""

from alembic import op
import sqlalchemy as sa

from helpdesk.customers.names import split_name


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

BATCH = 5000

customers = sa.table(
    'customers',
    sa.column('id', sa.Integer),
    sa.column('name', sa.String),
    sa.column('given_name', sa.String),
    sa.column('family_name', sa.String),
)


def upgrade() -> None:
    op.add_column(
        'customers', sa.Column('given_name', sa.String(length=200), nullable=False, server_default='')
    )
    op.add_column(
        'customers', sa.Column('family_name', sa.String(length=200), nullable=False, server_default='')
    )
    op.add_column(
        'customers',
        sa.Column('name_parts_entered', sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    _backfill(op.get_bind())


def _backfill(bind) -> None:
    named = bind.execute(
        sa.select(customers.c.id, customers.c.name).where(customers.c.name != '')
    ).all()
    update = (
        customers.update()
        .where(customers.c.id == sa.bindparam('customer_id'))
        .values(given_name=sa.bindparam('given'), family_name=sa.bindparam('family'))
    )
    for start in range(0, len(named), BATCH):
        rows = []
        for customer_id, name in named[start : start + BATCH]:
            parts = split_name(name)
            rows.append({'customer_id': customer_id, 'given': parts.given, 'family': parts.family})
        bind.execute(update, rows)


def downgrade() -> None:
    with op.batch_alter_table('customers') as batch:
        batch.drop_column('name_parts_entered')
        batch.drop_column('family_name')
        batch.drop_column('given_name')
