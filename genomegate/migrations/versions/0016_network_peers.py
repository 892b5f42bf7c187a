"""network peers: the nodes this one federates with, and their health

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('network_peer',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('beacon_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('node_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('beacon_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('api_version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('forward', sa.String(length=16), nullable=False),
    sa.Column('service_info', sa.JSON(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('added_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ok_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('latency_ms', sa.Float(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('beacon_url')
    )


def downgrade() -> None:
    op.drop_table('network_peer')
