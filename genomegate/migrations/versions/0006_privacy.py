"""privacy: Beacon budgets per account and dataset, the public reference panel, datasets' budget parameter

Revision ID: 0006
Revises: 0005

Datasets that exist get the default budget parameter (0.625): the defence is on after the upgrade.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('catalogue_reference_span',
    sa.Column('assembly', sa.String(length=16), nullable=False),
    sa.Column('chrom', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('max_span', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('assembly', 'chrom')
    )
    op.create_table('catalogue_reference_allele',
    sa.Column('assembly', sa.String(length=16), nullable=False),
    sa.Column('chrom', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('pos', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('alt', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('end', sa.Integer(), nullable=False),
    sa.Column('variant_type', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.Column('ac', sa.Integer(), nullable=False),
    sa.Column('an', sa.Integer(), nullable=False),
    sa.Column('af_lower', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('assembly', 'chrom', 'pos', 'ref', 'alt')
    )
    op.create_table('beacon_privacy_ledger',
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('dataset_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('organisation', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('spent', sa.Float(), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.Column('rare', sa.Integer(), nullable=False),
    sa.Column('alerted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalogue_dataset.id'], ),
    sa.PrimaryKeyConstraint('holder', 'dataset_id')
    )
    op.create_table('beacon_privacy_question',
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('dataset_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('question', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('cost', sa.Float(), nullable=False),
    sa.Column('rare', sa.Boolean(), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalogue_dataset.id'], ),
    sa.PrimaryKeyConstraint('holder', 'dataset_id', 'question')
    )
    with op.batch_alter_table('catalogue_dataset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('privacy_p', sa.Float(), nullable=False, server_default='0.625'))



def downgrade() -> None:
    with op.batch_alter_table('catalogue_dataset', schema=None) as batch_op:
        batch_op.drop_column('privacy_p')

    op.drop_table('beacon_privacy_question')
    op.drop_table('beacon_privacy_ledger')
    op.drop_table('catalogue_reference_allele')
    op.drop_table('catalogue_reference_span')
