"""ingestion on the job queue: an ingestion names the job that runs it; its own lease (holder, heartbeat rows) goes

Revision ID: 0015
Revises: 0014

Ingestions left unfinished by the previous release have no job to finish them: they are failed (nothing of them
was committed), as that release's sweep would have failed them.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE ingest_job SET state = 'failed', "
               "error = 'the process running it stopped; nothing was changed: run it again' "
               "WHERE state IN ('queued', 'running')")
    op.drop_table('ingest_lease')
    with op.batch_alter_table('ingest_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_id', sa.Integer(), nullable=True))
        batch_op.drop_column('lease_seconds')
        batch_op.drop_column('held_by')


def downgrade() -> None:
    with op.batch_alter_table('ingest_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_by', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))
        batch_op.add_column(sa.Column('lease_seconds', sa.Integer(), nullable=False, server_default='40'))
        batch_op.drop_column('job_id')
    op.create_table('ingest_lease',
    sa.Column('job_id', sa.String(length=16), nullable=False),
    sa.Column('held_by', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('renewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['ingest_job.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_id')
    )
