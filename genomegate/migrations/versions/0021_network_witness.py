"""network witness: the peers' audit logs this node watches, its countersignatures, its alarms

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('network_witness_log',
    sa.Column('origin', AutoString(length=500), nullable=False),
    sa.Column('peer_id', AutoString(length=64), nullable=True),
    sa.Column('key_x', AutoString(length=64), nullable=False),
    sa.Column('key_id', AutoString(length=64), nullable=False),
    sa.Column('pinned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pinned_by', AutoString(length=320), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', AutoString(length=500), nullable=True),
    sa.PrimaryKeyConstraint('origin')
    )
    op.create_table('network_countersignature',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('origin', AutoString(length=500), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('root', AutoString(length=64), nullable=False),
    sa.Column('witness', AutoString(length=500), nullable=False),
    sa.Column('time', AutoString(length=32), nullable=False),
    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('key_id', AutoString(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('signature', AutoString(length=200), nullable=False),
    sa.Column('checkpoint_note', sa.Text(), nullable=False),
    sa.Column('checkpoint_signature', AutoString(length=200), nullable=False),
    sa.Column('checkpoint_key_id', AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('origin', 'size')
    )
    op.create_index(op.f('ix_network_countersignature_origin'), 'network_countersignature', ['origin'], unique=False)
    op.create_table('network_witness_alarm',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('origin', AutoString(length=500), nullable=False),
    sa.Column('peer_id', AutoString(length=64), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('message', AutoString(length=1000), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('root', AutoString(length=64), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('times', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_network_witness_alarm_origin'), 'network_witness_alarm', ['origin'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_network_witness_alarm_origin'), table_name='network_witness_alarm')
    op.drop_table('network_witness_alarm')
    op.drop_index(op.f('ix_network_countersignature_origin'), table_name='network_countersignature')
    op.drop_table('network_countersignature')
    op.drop_table('network_witness_log')
