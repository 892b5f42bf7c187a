"""ingestion lease: the process holding a job, its lease length, and heartbeat rows (PostgreSQL)

Revision ID: 0008
Revises: 0007

Jobs that exist get no holder and the default lease (40 s): an unfinished one is failed by the first
process that looks at it, as the old start-up sweep did.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ingest_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_by', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))
        batch_op.add_column(sa.Column('lease_seconds', sa.Integer(), nullable=False, server_default='40'))
    with op.batch_alter_table('ingest_job', schema=None) as batch_op:
        batch_op.alter_column('lease_seconds', server_default=None)
    op.create_table('ingest_lease',
    sa.Column('job_id', sa.String(length=16), nullable=False),
    sa.Column('held_by', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('renewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['ingest_job.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_id')
    )


def downgrade() -> None:
    op.drop_table('ingest_lease')
    with op.batch_alter_table('ingest_job', schema=None) as batch_op:
        batch_op.drop_column('lease_seconds')
        batch_op.drop_column('held_by')
