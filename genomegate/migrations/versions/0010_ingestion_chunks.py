"""ingestion in chunks: the plan of an ingestion, its chunks, and the rows they stage until publishing

Revision ID: 0010
Revises: 0009

The staging table is UNLOGGED on PostgreSQL: its rows are written once and read once, and a server crash
that empties it is seen by publishing (the rows staged no longer add up to what the chunks reported).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ingest_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan', sa.JSON(), nullable=True))
    op.create_table('ingest_chunk',
    sa.Column('ingestion_id', sa.String(length=16), nullable=False),
    sa.Column('number', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('contig', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('start', sa.Integer(), nullable=False),
    sa.Column('end', sa.Integer(), nullable=True),
    sa.Column('records_before', sa.Integer(), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.Column('staged_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ingestion_id'], ['ingest_job.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ingestion_id', 'number')
    )
    op.create_table('ingest_staged_variant',
    sa.Column('ingestion_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('chunk', sa.Integer(), nullable=False),
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
    sa.Column('groups', sa.Text(), nullable=True),
    sa.Column('annotations', sa.Text(), nullable=True),
    sa.Column('spill', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('ingestion_id', 'chunk', 'chrom', 'pos', 'ref', 'alt')
    )
    if op.get_context().dialect.name == 'postgresql':
        op.execute('ALTER TABLE ingest_staged_variant SET UNLOGGED')


def downgrade() -> None:
    op.drop_table('ingest_staged_variant')
    op.drop_table('ingest_chunk')
    with op.batch_alter_table('ingest_job', schema=None) as batch_op:
        batch_op.drop_column('plan')
