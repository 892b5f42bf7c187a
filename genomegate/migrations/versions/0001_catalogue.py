"""catalogue: organisations, DACs, roles, datasets, files, samples

Revision ID: 0001
Revises: 
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('catalogue_dac',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('contact_email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=False),
    sa.Column('quorum', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('catalogue_id_counter',
    sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix')
    )
    # Seeded so that handing out accessions is one UPDATE ... RETURNING, with no insert race.
    op.bulk_insert(sa.table('catalogue_id_counter', sa.column('prefix', sa.String), sa.column('value', sa.Integer)),
                   [{'prefix': p, 'value': 0} for p in ('GGD', 'GGO', 'GGC', 'GGF')])
    op.create_table('catalogue_organisation',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('contact_email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('catalogue_dataset',
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=20000), nullable=False),
    sa.Column('assembly', sa.String(length=16), nullable=False),
    sa.Column('security', sa.String(length=16), nullable=False),
    sa.Column('contact_email', sa.String(length=320), nullable=True),
    sa.Column('licence', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('dua_text', sqlmodel.sql.sqltypes.AutoString(length=50000), nullable=False),
    sa.Column('dua_version', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('organisation_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('dac_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('duo', sa.JSON(), nullable=False),
    sa.Column('disease_terms', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('statistics', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['dac_id'], ['catalogue_dac.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['catalogue_organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('catalogue_dataset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalogue_dataset_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalogue_dataset_status'), ['status'], unique=False)

    op.create_table('catalogue_role_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('organisation_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('dac_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('granted_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dac_id'], ['catalogue_dac.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['catalogue_organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subject', 'role', 'organisation_id', 'dac_id')
    )
    with op.batch_alter_table('catalogue_role_grant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalogue_role_grant_subject'), ['subject'], unique=False)

    op.create_table('catalogue_dataset_condition',
    sa.Column('dataset_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('term', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalogue_dataset.id'], ),
    sa.PrimaryKeyConstraint('dataset_id', 'term')
    )
    with op.batch_alter_table('catalogue_dataset_condition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalogue_dataset_condition_term'), ['term'], unique=False)

    op.create_table('catalogue_dataset_file',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('dataset_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('uri', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('format', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('md5', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('index_uri', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalogue_dataset.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('catalogue_dataset_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalogue_dataset_file_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('catalogue_sample',
    sa.Column('dataset_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('sample_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('sex', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('population', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('phenotypes', sa.JSON(), nullable=False),
    sa.Column('diseases', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['catalogue_dataset.id'], ),
    sa.PrimaryKeyConstraint('dataset_id', 'sample_id')
    )


def downgrade() -> None:
    op.drop_table('catalogue_sample')
    with op.batch_alter_table('catalogue_dataset_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalogue_dataset_file_dataset_id'))

    op.drop_table('catalogue_dataset_file')
    with op.batch_alter_table('catalogue_dataset_condition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalogue_dataset_condition_term'))

    op.drop_table('catalogue_dataset_condition')
    with op.batch_alter_table('catalogue_role_grant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalogue_role_grant_subject'))

    op.drop_table('catalogue_role_grant')
    with op.batch_alter_table('catalogue_dataset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalogue_dataset_status'))
        batch_op.drop_index(batch_op.f('ix_catalogue_dataset_organisation_id'))

    op.drop_table('catalogue_dataset')
    op.drop_table('catalogue_organisation')
    op.drop_table('catalogue_id_counter')
    op.drop_table('catalogue_dac')
