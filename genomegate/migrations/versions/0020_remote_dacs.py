"""decide access once: datasets whose DAC sits at another node, and remote datasets requested here

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
# A request, an entitlement and an audit line name a dataset held at another node by its URL there.
_WIDENED = (('access_request_dataset', False), ('access_entitlement', False), ('access_audit_event', True))


def upgrade() -> None:
    op.create_table('catalogue_remote_dac',
    sa.Column('dataset_id', _STR(length=16), nullable=False),
    sa.Column('node_url', _STR(length=500), nullable=False),
    sa.Column('dac_id', _STR(length=100), nullable=False),
    sa.Column('visa_issuer', _STR(length=500), nullable=False),
    sa.Column('jku', _STR(length=1000), nullable=False),
    sa.Column('set_by', _STR(length=320), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalogue_dataset.id'], ),
    sa.PrimaryKeyConstraint('dataset_id')
    )
    op.create_table('access_remote_dataset',
    sa.Column('url', _STR(length=500), nullable=False),
    sa.Column('node_url', _STR(length=500), nullable=False),
    sa.Column('dataset_id', _STR(length=100), nullable=False),
    sa.Column('title', _STR(length=300), nullable=False),
    sa.Column('dac_id', _STR(length=16), nullable=False),
    sa.Column('security', _STR(length=16), nullable=False),
    sa.Column('duo', sa.JSON(), nullable=False),
    sa.Column('disease_terms', sa.JSON(), nullable=False),
    sa.Column('dua_version', _STR(length=40), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('url')
    )
    for table, nullable in _WIDENED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column('dataset_id', existing_type=_STR(length=16), type_=_STR(length=500),
                               existing_nullable=nullable)


def downgrade() -> None:
    for table, nullable in _WIDENED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column('dataset_id', existing_type=_STR(length=500), type_=_STR(length=16),
                               existing_nullable=nullable)
    op.drop_table('access_remote_dataset')
    op.drop_table('catalogue_remote_dac')
