"""jobs: the job ledger and the periodic slots; outbox claims; recorded entitlement expiries

Revision ID: 0009
Revises: 0008

New tables, and two nullable columns: existing notifications are unclaimed; entitlements that ended before the
upgrade count as recorded (their holders are not told now of an end long past); later ends are recorded by the
periodic expiry job (an audit line and a notice).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('jobs_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', AutoString(length=100), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_owner', AutoString(length=200), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', AutoString(length=500), nullable=True),
    sa.Column('progress_done', sa.Integer(), nullable=True),
    sa.Column('progress_total', sa.Integer(), nullable=True),
    sa.Column('dedupe_key', AutoString(length=200), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    op.create_index(op.f('ix_jobs_job_kind'), 'jobs_job', ['kind'], unique=False)
    op.create_index(op.f('ix_jobs_job_state'), 'jobs_job', ['state'], unique=False)
    op.create_index(op.f('ix_jobs_job_parent_id'), 'jobs_job', ['parent_id'], unique=False)
    op.create_table('jobs_schedule',
    sa.Column('name', AutoString(length=100), nullable=False),
    sa.Column('next_due', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    with op.batch_alter_table('access_notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('access_entitlement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expiry_recorded_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(sa.text('UPDATE access_entitlement SET expiry_recorded_at = "end" '
                       'WHERE "end" <= CURRENT_TIMESTAMP AND revoked_at IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('access_entitlement', schema=None) as batch_op:
        batch_op.drop_column('expiry_recorded_at')
    with op.batch_alter_table('access_notification', schema=None) as batch_op:
        batch_op.drop_column('claimed_until')
    op.drop_table('jobs_schedule')
    op.drop_index(op.f('ix_jobs_job_parent_id'), table_name='jobs_job')
    op.drop_index(op.f('ix_jobs_job_state'), table_name='jobs_job')
    op.drop_index(op.f('ix_jobs_job_kind'), table_name='jobs_job')
    op.drop_table('jobs_job')
