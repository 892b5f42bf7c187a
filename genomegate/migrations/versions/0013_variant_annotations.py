"""variant annotations: genes, molecular effects and protein changes from VEP CSQ / SnpEff ANN fields

Revision ID: 0013
Revises: 0011

Datasets ingested before have no annotations (their variants answer gene queries through the gene table only);
ingesting an annotated file again fills them.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('catalogue_variant_annotation',
    sa.Column('dataset_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('chrom', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('pos', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('alt', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('gene_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('change', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('file_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('gene', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('gene_id_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('effects', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('protein', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalogue_dataset.id'], ),
    sa.ForeignKeyConstraint(['file_id'], ['catalogue_dataset_file.id'], ),
    sa.PrimaryKeyConstraint('dataset_id', 'chrom', 'pos', 'ref', 'alt', 'gene_key', 'change')
    )
    with op.batch_alter_table('catalogue_variant_annotation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalogue_variant_annotation_file_id'), ['file_id'], unique=False)
        batch_op.create_index('ix_catalogue_variant_annotation_gene', ['dataset_id', 'gene_key'], unique=False)
        batch_op.create_index('ix_catalogue_variant_annotation_gene_id', ['dataset_id', 'gene_id_key'], unique=False)
        batch_op.create_index('ix_catalogue_variant_annotation_change', ['dataset_id', 'change'], unique=False)


def downgrade() -> None:
    op.drop_table('catalogue_variant_annotation')
