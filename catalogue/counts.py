"""What a dataset's index knows of counts: allele counts and carriers, or only that a variant is present.

A sites-only file without INFO AC/AN gives presence only: its rows hold AC 1 and AN 0 (found by searches, which
ask for AC > 0; nothing else is known). A file with INFO AC/AN but no genotypes gives allele counts and no
carriers: its rows hold zero carriers beside a positive AC. The dataset's statistics count both kinds of row
(`index.refresh_statistics`), and everything that shows counts reads these two facts from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["allele_counts_known", "carriers_known"]


def allele_counts_known(statistics: Mapping[str, Any]) -> bool:
    """Whether every variant of the dataset has its allele count and number (no presence-only rows)."""
    return not statistics.get("variants_without_counts")


def carriers_known(statistics: Mapping[str, Any]) -> bool:
    """Whether every variant's carriers are counted (from genotypes); statistics older than these facts
    know it from the samples: a dataset without samples holds no genotypes."""
    if "variants_without_carriers" in statistics:
        return not statistics["variants_without_carriers"] and allele_counts_known(statistics)
    return bool(statistics.get("samples"))
