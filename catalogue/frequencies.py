"""Allele frequencies of a public reference panel, and the conservative (lower) bound the Beacon charges from."""

from __future__ import annotations

import math

__all__ = ["LOWER_BOUND_Z", "lower_bound"]

# One-sided 99% Wilson score bound: the panel's frequency is an estimate, and an allele that is rarer in the
# cohort than the panel suggests would be undercharged, so the Beacon charges from the frequency's lower end.
LOWER_BOUND_Z = 2.326


def lower_bound(ac: int, an: int, z: float = LOWER_BOUND_Z) -> float:
    """The lower end of the one-sided Wilson score interval for an allele seen `ac` times in `an` alleles.

    0 for an allele never seen (or no called alleles): nothing public says that allele is common.
    """
    if an <= 0 or ac <= 0:
        return 0.0
    p = min(ac, an) / an
    z2 = z * z
    centre = p + z2 / (2 * an)
    spread = z * math.sqrt(p * (1 - p) / an + z2 / (4 * an * an))
    return max((centre - spread) / (1 + z2 / an), 0.0)
