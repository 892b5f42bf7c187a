"""catalogue: beacon display policy, genes, variant locus index

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('catalogue_gene',
    sa.Column('assembly', sa.String(length=16), nullable=False),
    sa.Column('symbol', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('chrom', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('start', sa.Integer(), nullable=False),
    sa.Column('end', sa.Integer(), nullable=False),
    sa.Column('gene_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.PrimaryKeyConstraint('assembly', 'symbol')
    )
    with op.batch_alter_table('catalogue_dataset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('beacon_granularity', sa.String(length=16), nullable=False,
                                      server_default='boolean'))
        batch_op.add_column(sa.Column('count_threshold', sa.Integer(), nullable=False, server_default='5'))

    with op.batch_alter_table('catalogue_variant', schema=None) as batch_op:
        batch_op.create_index('ix_catalogue_variant_locus', ['chrom', 'pos'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('catalogue_variant', schema=None) as batch_op:
        batch_op.drop_index('ix_catalogue_variant_locus')

    with op.batch_alter_table('catalogue_dataset', schema=None) as batch_op:
        batch_op.drop_column('count_threshold')
        batch_op.drop_column('beacon_granularity')

    op.drop_table('catalogue_gene')
