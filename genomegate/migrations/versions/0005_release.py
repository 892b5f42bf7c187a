"""release: researchers' Crypt4GH public keys

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('access_researcher_key',
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('public_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subject', 'fingerprint')
    )
    with op.batch_alter_table('access_researcher_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_researcher_key_subject'), ['subject'], unique=False)

    op.bulk_insert(sa.table('catalogue_id_counter', sa.column('prefix', sa.String), sa.column('value', sa.Integer)),
                   [{'prefix': 'GGK', 'value': 0}])


def downgrade() -> None:
    op.execute("DELETE FROM catalogue_id_counter WHERE prefix = 'GGK'")
    with op.batch_alter_table('access_researcher_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_researcher_key_subject'))

    op.drop_table('access_researcher_key')
