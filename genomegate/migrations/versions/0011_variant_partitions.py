"""variant index partitioned by dataset (PostgreSQL; SQLite keeps one table)

Revision ID: 0011
Revises: 0010

On PostgreSQL `catalogue_variant` becomes LIST-partitioned by dataset_id: one partition per dataset that
has variants (named after it), and a DEFAULT partition for rows written without one. Its primary key,
foreign keys and indexes stay as they were (named as before), so nothing that reads the index changes.
The rows are copied over and the old table dropped. SQLite: nothing to do.
"""

from __future__ import annotations

import re
import uuid

from alembic import op
from sqlalchemy import text

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_OLD = "catalogue_variant_unpartitioned"


def _postgres() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def upgrade() -> None:
    if not _postgres():
        return
    op.execute(f"ALTER TABLE catalogue_variant RENAME TO {_OLD}")
    op.execute(f"ALTER INDEX catalogue_variant_pkey RENAME TO {_OLD}_pkey")
    op.execute(f"ALTER INDEX ix_catalogue_variant_locus RENAME TO {_OLD}_locus")
    op.execute(f"ALTER INDEX ix_catalogue_variant_file_id RENAME TO {_OLD}_file_id")
    op.execute(f"CREATE TABLE catalogue_variant (LIKE {_OLD} INCLUDING DEFAULTS) PARTITION BY LIST (dataset_id)")
    op.execute("ALTER TABLE catalogue_variant ADD CONSTRAINT catalogue_variant_pkey "
               "PRIMARY KEY (dataset_id, chrom, pos, ref, alt)")
    # No foreign keys on the partitioned index: each would be cloned onto every partition, and swapping a
    # dataset's partition in or out would then lock the dataset and file tables against every other
    # ingestion's open transaction (catalogue/services/partitions.py). Rows are written only with their
    # files, in the transactions that register them, and removed with them (catalogue/services/index.py).
    op.execute("CREATE INDEX ix_catalogue_variant_locus ON catalogue_variant (chrom, pos)")
    op.execute("CREATE INDEX ix_catalogue_variant_file_id ON catalogue_variant (file_id)")
    op.execute("CREATE TABLE catalogue_variant_default PARTITION OF catalogue_variant DEFAULT")
    datasets = [r[0] for r in op.get_bind().execute(text(f"SELECT DISTINCT dataset_id FROM {_OLD}"))]
    for dataset_id in datasets:
        slug = re.sub(r"[^a-z0-9]", "_", dataset_id.lower())[:24]
        op.execute(f'CREATE TABLE "catalogue_variant_{slug}_{uuid.uuid4().hex[:8]}" PARTITION OF catalogue_variant '
                   f"FOR VALUES IN ({_literal(dataset_id)})")
    op.execute(f"INSERT INTO catalogue_variant SELECT * FROM {_OLD}")
    op.execute(f"DROP TABLE {_OLD}")
    op.execute("ANALYZE catalogue_variant")


def downgrade() -> None:
    if not _postgres():
        return
    op.execute("ALTER TABLE catalogue_variant RENAME TO catalogue_variant_partitioned")
    op.execute("ALTER INDEX catalogue_variant_pkey RENAME TO catalogue_variant_partitioned_pkey")
    op.execute("ALTER INDEX ix_catalogue_variant_locus RENAME TO catalogue_variant_partitioned_locus")
    op.execute("ALTER INDEX ix_catalogue_variant_file_id RENAME TO catalogue_variant_partitioned_file_id")
    op.execute("CREATE TABLE catalogue_variant (LIKE catalogue_variant_partitioned INCLUDING DEFAULTS)")
    op.execute("INSERT INTO catalogue_variant SELECT * FROM catalogue_variant_partitioned")
    op.execute("ALTER TABLE catalogue_variant ADD CONSTRAINT catalogue_variant_pkey "
               "PRIMARY KEY (dataset_id, chrom, pos, ref, alt)")
    op.execute("ALTER TABLE catalogue_variant ADD CONSTRAINT catalogue_variant_dataset_id_fkey "
               "FOREIGN KEY (dataset_id) REFERENCES catalogue_dataset (id)")
    op.execute("ALTER TABLE catalogue_variant ADD CONSTRAINT catalogue_variant_file_id_fkey "
               "FOREIGN KEY (file_id) REFERENCES catalogue_dataset_file (id)")
    op.execute("CREATE INDEX ix_catalogue_variant_locus ON catalogue_variant (chrom, pos)")
    op.execute("CREATE INDEX ix_catalogue_variant_file_id ON catalogue_variant (file_id)")
    op.execute("DROP TABLE catalogue_variant_partitioned")  # its partitions go with it
