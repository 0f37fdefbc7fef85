"""how each ticket began: mail, the contact form, a phone call or a visit; an index for
the customer's timeline

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 19:00:00

Tickets an agent starts can begin without any mail (a phone call, a visit), and the
customer's timeline names the channel of every ticket opened. Tickets that came from the
contact form before this revision are found by their first message's raw source. The
timeline picks a customer's newest messages of some kinds from an index on (ticket, kind,
time), without reading the message rows.
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(
            sa.Column(
                'channel',
                sa.Enum(
                    'email', 'web_form', 'phone', 'visit',
                    name='ticketchannel', native_enum=False, length=20,
                ),
                server_default='email',
                nullable=False,
            )
        )
    op.execute(
        "UPDATE tickets SET channel = 'web_form' WHERE id IN ("
        "SELECT messages.ticket_id FROM messages "
        "JOIN raw_messages ON raw_messages.id = messages.raw_message_id "
        "WHERE raw_messages.source = 'form')"
    )
    op.create_index(
        'ix_messages_ticket_kind_created',
        'messages',
        ['ticket_id', 'kind', 'created_at'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_messages_ticket_kind_created', table_name='messages')
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('channel')
