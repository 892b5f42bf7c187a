"""audit log: an index on (actor, at), for the release rate limit's count of a requester's recent lines

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_access_audit_event_actor_at', 'access_audit_event', ['actor', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_access_audit_event_actor_at', table_name='access_audit_event')
