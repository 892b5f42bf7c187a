"""participant links: link sheets per dataset (versioned), each sample's keyed hash of its participant, notices

Revision ID: 0018
Revises: 0017

Both tables start empty: no participant was linked before. Identifiers are never stored, only their HMAC.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('participants_link_sheet',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('links', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('uploaded_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalogue_dataset.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dataset_id', 'version')
    )
    with op.batch_alter_table('participants_link_sheet', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_participants_link_sheet_dataset_id'), ['dataset_id'], unique=False)
    op.create_table('participants_link',
    sa.Column('sheet_id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('dataset_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('participant_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['sheet_id'], ['participants_link_sheet.id'], ),
    sa.PrimaryKeyConstraint('sheet_id', 'sample_id')
    )
    with op.batch_alter_table('participants_link', schema=None) as batch_op:
        batch_op.create_index('ix_participants_link_hash_sheet', ['participant_hash', 'sheet_id'], unique=False)
    op.create_table('participants_notice',
    sa.Column('participant_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('after_line', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('participant_hash')
    )


def downgrade() -> None:
    op.drop_table('participants_notice')
    op.drop_table('participants_link')
    op.drop_table('participants_link_sheet')
