"""variant index: the locus index carries the columns a count reads (PostgreSQL; SQLite unchanged)

Revision ID: 0023
Revises: 0022

On PostgreSQL `ix_catalogue_variant_locus` (chrom, pos) becomes (chrom, pos) INCLUDE (ref, alt, end, ac, het,
hom_alt, hemi_alt, dataset_id), built anew on every partition: the Beacon's exact and range counts are then
index-only scans, reading no row of the table (catalogue.services.partitions). Partitions loaded from here on
are indexed so when they are swapped in. SQLite: nothing to do.
"""

from __future__ import annotations

from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

_INCLUDE = 'ref, alt, "end", ac, het, hom_alt, hemi_alt, dataset_id'


def _postgres() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def upgrade() -> None:
    if not _postgres():
        return
    op.execute("DROP INDEX ix_catalogue_variant_locus")
    op.execute(f"CREATE INDEX ix_catalogue_variant_locus ON catalogue_variant (chrom, pos) INCLUDE ({_INCLUDE})")


def downgrade() -> None:
    if not _postgres():
        return
    op.execute("DROP INDEX ix_catalogue_variant_locus")
    op.execute("CREATE INDEX ix_catalogue_variant_locus ON catalogue_variant (chrom, pos)")
