"""audit checkpoints: signed Merkle roots of the audit log's first lines

Revision ID: 0007
Revises: 0006

A new table only; the log itself is unchanged (its lines are the Merkle tree's leaves, in id order).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('access_audit_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('root', AutoString(length=64), nullable=False),
    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('origin', AutoString(length=500), nullable=False),
    sa.Column('key_id', AutoString(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('signature', AutoString(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('size')
    )


def downgrade() -> None:
    op.drop_table('access_audit_checkpoint')
