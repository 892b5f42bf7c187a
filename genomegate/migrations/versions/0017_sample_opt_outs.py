"""sample opt-outs: each sample's opt-out and opt-in requests, the samples whose opt-out is in effect, and the
alleles applying them withdrew from the counts

Revision ID: 0017
Revises: 0015

The tables start empty: no sample was opted out before.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0017'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('catalogue_sample_opt_out',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('sample_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalogue_dataset.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('catalogue_sample_opt_out', schema=None) as batch_op:
        batch_op.create_index('ix_catalogue_sample_opt_out_sample', ['dataset_id', 'sample_id'], unique=False)
    op.create_table('catalogue_sample_exclusion',
    sa.Column('dataset_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('sample_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalogue_dataset.id'], ),
    sa.PrimaryKeyConstraint('dataset_id', 'sample_id')
    )
    op.create_table('catalogue_withdrawn_allele',
    sa.Column('dataset_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('chrom', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('pos', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('alt', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('end', sa.Integer(), nullable=False),
    sa.Column('variant_type', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.Column('ac', sa.Integer(), nullable=False),
    sa.Column('an', sa.Integer(), nullable=False),
    sa.Column('het', sa.Integer(), nullable=False),
    sa.Column('hom_alt', sa.Integer(), nullable=False),
    sa.Column('hemi_alt', sa.Integer(), nullable=False),
    sa.Column('groups', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalogue_dataset.id'], ),
    sa.PrimaryKeyConstraint('dataset_id', 'chrom', 'pos', 'ref', 'alt')
    )


def downgrade() -> None:
    op.drop_table('catalogue_withdrawn_allele')
    op.drop_table('catalogue_sample_exclusion')
    op.drop_table('catalogue_sample_opt_out')
