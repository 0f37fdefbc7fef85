"""who paused a campaign, apart from the failure that paused it

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 08:50:00

`pause_reason` held a finished sentence in one language ("Paused by Ana." in the language
of whoever paused, "paused after 20 failed deliveries in a row; the last one: 554 ..." in
English from the worker). It now holds only the SMTP answer of the last failure, and
`paused_by` the name of the person; the page writes the sentence in the viewer's
language. Existing sentences are taken apart where they have one of those shapes.
"""

import re

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

campaigns = sa.table(
    'campaigns',
    sa.column('id', sa.Integer),
    sa.column('paused_by', sa.String),
    sa.column('pause_reason', sa.Text),
)
_WORKER = re.compile(r'^paused after \d+ failed deliveries in a row; the last one: (.*)$', re.S)
# "Paused by %(name)s." in English and in Korean, as the pause button wrote it.
_PERSON = (re.compile(r'^Paused by (.+)\.$', re.S), re.compile(r'^(.+) 님이 일시 중지했습니다\.$', re.S))


def upgrade() -> None:
    op.add_column(
        'campaigns', sa.Column('paused_by', sa.String(length=200), nullable=False, server_default='')
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(campaigns.c.id, campaigns.c.pause_reason).where(campaigns.c.pause_reason != '')
    ).all()
    for campaign_id, text in rows:
        bind.execute(
            campaigns.update().where(campaigns.c.id == campaign_id).values(**_taken_apart(text))
        )


def _taken_apart(text: str) -> dict[str, str]:
    if match := _WORKER.match(text):
        return {'pause_reason': match[1]}
    for pattern in _PERSON:
        if match := pattern.match(text):
            return {'paused_by': match[1][:200], 'pause_reason': ''}
    return {'pause_reason': text}


def downgrade() -> None:
    with op.batch_alter_table('campaigns') as batch:
        batch.drop_column('paused_by')
