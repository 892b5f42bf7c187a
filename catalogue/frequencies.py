"""Allele frequencies of a public reference panel, and the conservative (lower) bound the Beacon charges from."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import betaincinv

__all__ = ["LOWER_BOUND_ALPHA", "lower_bound", "lower_bounds"]

# One-sided 99%: the panel's frequency is an estimate, and an allele that is rarer in the cohort than the panel
# suggests would be undercharged, so the Beacon charges from the frequency's lower end.
LOWER_BOUND_ALPHA = 0.01


def lower_bounds(ac: Sequence[int] | np.ndarray, an: Sequence[int] | np.ndarray,
                 alpha: float = LOWER_BOUND_ALPHA) -> np.ndarray:
    """Exact (Clopper-Pearson) one-sided lower confidence bounds of allele frequencies, `ac` seen in `an` alleles.

    The exact bound keeps its coverage for the rare alleles that matter here, where score intervals fall short.
    0 for an allele never seen (or no called alleles): nothing public says that allele is common.
    """
    ac_ = np.minimum(np.asarray(ac, dtype=float), np.asarray(an, dtype=float))
    an_ = np.asarray(an, dtype=float)
    seen = (ac_ > 0) & (an_ > 0)
    out = np.zeros(np.broadcast(ac_, an_).shape)
    safe_ac = np.where(seen, ac_, 1.0)
    safe_b = np.where(seen, an_ - ac_ + 1.0, 1.0)
    out[...] = np.where(seen, betaincinv(safe_ac, safe_b, alpha), 0.0)
    return out


def lower_bound(ac: int, an: int, alpha: float = LOWER_BOUND_ALPHA) -> float:
    """lower_bounds for one allele."""
    return float(lower_bounds([ac], [an], alpha)[0])
