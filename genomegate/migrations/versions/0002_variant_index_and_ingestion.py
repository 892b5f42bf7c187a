"""variant index and ingestion jobs

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ingest_job',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('dataset_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('records_done', sa.Integer(), nullable=False),
    sa.Column('records_total', sa.Integer(), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('warnings', sa.JSON(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('provenance', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalogue_dataset.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ingest_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ingest_job_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('catalogue_variant',
    sa.Column('dataset_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('chrom', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('pos', sa.Integer(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('alt', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('file_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
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
    sa.ForeignKeyConstraint(['file_id'], ['catalogue_dataset_file.id'], ),
    sa.PrimaryKeyConstraint('dataset_id', 'chrom', 'pos', 'ref', 'alt')
    )
    with op.batch_alter_table('catalogue_variant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalogue_variant_file_id'), ['file_id'], unique=False)
    op.bulk_insert(sa.table('catalogue_id_counter', sa.column('prefix', sa.String), sa.column('value', sa.Integer)),
                   [{'prefix': 'GGI', 'value': 0}])


def downgrade() -> None:
    op.execute("DELETE FROM catalogue_id_counter WHERE prefix = 'GGI'")
    with op.batch_alter_table('catalogue_variant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalogue_variant_file_id'))

    op.drop_table('catalogue_variant')
    with op.batch_alter_table('ingest_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ingest_job_dataset_id'))

    op.drop_table('ingest_job')
