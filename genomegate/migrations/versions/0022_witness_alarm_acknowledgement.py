"""network witness: an admin may acknowledge an alarm (who, when, what they found or did)

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('network_witness_alarm') as batch:
        batch.add_column(sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('acknowledged_by', AutoString(length=320), nullable=True))
        batch.add_column(sa.Column('acknowledgement', AutoString(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('network_witness_alarm') as batch:
        batch.drop_column('acknowledgement')
        batch.drop_column('acknowledged_by')
        batch.drop_column('acknowledged_at')
