"""access: requests, votes, attachments, entitlements, audit, outbox

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('access_audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('dataset_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('request_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('entitlement_id', sa.Integer(), nullable=True),
    sa.Column('visa_jti', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('client', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hash'),
    sa.UniqueConstraint('prev_hash')
    )
    with op.batch_alter_table('access_audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_audit_event_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('access_notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('request_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('access_request',
    sa.Column('project_title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('lay_summary', sqlmodel.sql.sqltypes.AutoString(length=10000), nullable=False),
    sa.Column('purpose', sa.JSON(), nullable=False),
    sa.Column('disease_terms', sa.JSON(), nullable=False),
    sa.Column('institution', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('for_profit', sa.Boolean(), nullable=False),
    sa.Column('co_applicants', sa.JSON(), nullable=False),
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('applicant', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('applicant_email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('dac_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('accepted_agreements', sa.JSON(), nullable=False),
    sa.Column('duo_verdict', sa.JSON(), nullable=False),
    sa.Column('renewal_of', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('access_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('access_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_request_applicant'), ['applicant'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_request_dac_id'), ['dac_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_request_state'), ['state'], unique=False)

    op.create_table('access_attachment',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('request_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('uploaded_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['access_request.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('access_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_attachment_request_id'), ['request_id'], unique=False)

    op.create_table('access_entitlement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('dataset_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('request_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('granted_use', sa.JSON(), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('granted_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['access_request.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('access_entitlement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_entitlement_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_entitlement_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_entitlement_subject'), ['subject'], unique=False)

    op.create_table('access_request_dataset',
    sa.Column('request_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('dataset_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['access_request.id'], ),
    sa.PrimaryKeyConstraint('request_id', 'dataset_id')
    )
    with op.batch_alter_table('access_request_dataset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_request_dataset_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('access_request_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=True),
    sa.Column('to_state', sa.String(length=16), nullable=True),
    sa.Column('visible_to_applicant', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['access_request.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('access_request_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_request_event_request_id'), ['request_id'], unique=False)

    op.create_table('access_vote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('member', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('choice', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['access_request.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', 'member', 'round')
    )
    with op.batch_alter_table('access_vote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_vote_request_id'), ['request_id'], unique=False)
    op.bulk_insert(sa.table('catalogue_id_counter', sa.column('prefix', sa.String), sa.column('value', sa.Integer)),
                   [{'prefix': 'GGR', 'value': 0}, {'prefix': 'GGA', 'value': 0}])


def downgrade() -> None:
    op.execute("DELETE FROM catalogue_id_counter WHERE prefix IN ('GGR', 'GGA')")
    with op.batch_alter_table('access_vote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_vote_request_id'))

    op.drop_table('access_vote')
    with op.batch_alter_table('access_request_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_request_event_request_id'))

    op.drop_table('access_request_event')
    with op.batch_alter_table('access_request_dataset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_request_dataset_dataset_id'))

    op.drop_table('access_request_dataset')
    with op.batch_alter_table('access_entitlement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_entitlement_subject'))
        batch_op.drop_index(batch_op.f('ix_access_entitlement_request_id'))
        batch_op.drop_index(batch_op.f('ix_access_entitlement_dataset_id'))

    op.drop_table('access_entitlement')
    with op.batch_alter_table('access_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_attachment_request_id'))

    op.drop_table('access_attachment')
    with op.batch_alter_table('access_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_request_state'))
        batch_op.drop_index(batch_op.f('ix_access_request_dac_id'))
        batch_op.drop_index(batch_op.f('ix_access_request_applicant'))

    op.drop_table('access_request')
    op.drop_table('access_notification')
    with op.batch_alter_table('access_audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_audit_event_dataset_id'))
        batch_op.drop_index(batch_op.f('ix_access_audit_event_action'))

    op.drop_table('access_audit_event')
