"""network harvest: the datasets harvested from the peers' DCAT-AP catalogues, and each peer's last harvest

Revision ID: 0019
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = '0019'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('network_remote_dataset',
    sa.Column('peer_id', sa.String(length=64), nullable=False),
    sa.Column('dataset_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('iri', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('landing_page', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('themes', sa.JSON(), nullable=False),
    sa.Column('health_themes', sa.JSON(), nullable=False),
    sa.Column('duo', sa.JSON(), nullable=False),
    sa.Column('access_rights', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('security', sa.String(length=16), nullable=True),
    sa.Column('dac_name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('dac_iri', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('dac_node_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('assembly', sa.String(length=16), nullable=True),
    sa.Column('publisher', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('publisher_iri', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('issued', sa.DateTime(timezone=True), nullable=True),
    sa.Column('modified', sa.DateTime(timezone=True), nullable=True),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.Column('harvested_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['peer_id'], ['network_peer.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('peer_id', 'dataset_id')
    )
    op.create_table('network_harvest',
    sa.Column('peer_id', sa.String(length=64), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('succeeded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('datasets', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.ForeignKeyConstraint(['peer_id'], ['network_peer.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('peer_id')
    )


def downgrade() -> None:
    op.drop_table('network_harvest')
    op.drop_table('network_remote_dataset')
