"""Pure rules of the privacy budget: what one Beacon answer can reveal about membership, and the budget's bound.

The attack (Shringarpure & Bustamante 2015; Raisaro et al. 2017): an attacker holding a person's genome asks
whether the Beacon has each of that person's alleles. For a member the answer is always "yes"; for someone
outside the cohort it is "no" with probability delta = (1 - f)^h, the chance that none of the cohort's h
haplotypes carries an allele of frequency f. A "yes" therefore multiplies the odds of membership by at most
1 / (1 - delta), and a "no" only lowers them. Charging each answered question

    cost = -ln(1 - delta)

and answering only while the costs an account has been charged sum to at most B = -ln(p) keeps the
likelihood ratio of everything the account was told below 1 / p. By the Neyman-Pearson lemma no test that
wrongly calls an outsider a member with probability alpha can then call a member a member with probability
above alpha / p: the power of any membership test, whatever the questions and in whatever order, is at most
alpha / p. The cost is computed from the public frequency's lower confidence bound (never from the answer), so
refusing reveals nothing either. An allele no public panel has seen costs infinitely much: it is never answered
without record-level rights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "DEFAULT_P", "Charge", "answer_cost", "budget", "haplotypes", "period_over", "power_bound", "queries_allowed",
    "withheld_when_locked",
]

DEFAULT_P = 0.625  # attack power <= alpha / p: 0.08 at alpha = 0.05
RARE_AF = 0.01  # below this public frequency a question counts towards the attack alert

_HAPLOID = frozenset({"Y", "MT"})


def haplotypes(samples: int, chrom: str) -> int:
    """The haplotypes a dataset of `samples` people can carry an allele on, counted low (more cost, not less).

    X is counted once per person: males carry one X, and counting females' second copy would undercharge.
    """
    return samples if chrom in _HAPLOID or chrom == "X" else 2 * samples


def answer_cost(af_lower: float, haplotypes: int) -> float:
    """-ln(1 - delta), delta = (1 - f)^h: what one yes/no answer about an allele can reveal, in nats.

    Infinite when the allele may be absent from everyone but the person asked about (f = 0, or no haplotypes).
    """
    if haplotypes <= 0 or af_lower <= 0.0:
        return math.inf
    if af_lower >= 1.0:
        return 0.0
    log_delta = haplotypes * math.log1p(-af_lower)
    if log_delta < -745:  # delta underflows: the answer is "yes" for everyone
        return 0.0
    return -math.log1p(-math.exp(log_delta)) if log_delta < 0 else math.inf


def budget(p: float) -> float:
    """The budget B = -ln p in nats for the parameter p in (0, 1]; p = 0 switches the defence off (infinite)."""
    if p <= 0.0:
        return math.inf
    return -math.log(min(p, 1.0))


def power_bound(alpha: float, p: float) -> float:
    """The largest power any membership test at false-positive rate alpha has against a budget of parameter p."""
    return 1.0 if p <= 0.0 else min(alpha / p, 1.0)


def queries_allowed(af_lower: float, haplotypes: int, p: float) -> float:
    """How many different questions about alleles of this frequency one budget answers (inf when they are free)."""
    cost = answer_cost(af_lower, haplotypes)
    if cost == math.inf:
        return 0
    allowed = budget(p) / cost if cost > 0.0 else math.inf
    return allowed if math.isinf(allowed) else math.floor(allowed)


@dataclass(frozen=True, slots=True)
class Charge:
    """One question of one account about one dataset, priced before it is answered."""

    dataset_id: str
    question: str  # a stable digest of the normalised question and the dataset's data version
    cost: float
    rare: bool  # the public frequency is below RARE_AF (counted for the attack alert)


def withheld_when_locked(charge: Charge) -> bool:
    """Whether a locked (spent) budget refuses this question: only when its allele is rare.

    The lock stops an account that has spent its budget from probing further; it need not withhold a question
    whose answer says nothing about membership. An allele at least RARE_AF frequent in the public panel is
    carried by someone among the cohort's haplotypes whether or not the person asked about is a member, so its
    answer's likelihood ratio is ~1 and its price ~0. Such a question is still charged like any other and
    answered only while its price fits in what the budget has left (`spent + cost <= B`), so everything the
    account was told still multiplies the odds of membership by at most 1 / p: the bound is unchanged.
    """
    return charge.rare


def period_over(period_start: datetime, renew: timedelta | None, now: datetime) -> bool:
    """Whether a budget's period has ended, so that it renews (spent 0, unlocked, a new period from `now`):
    the one rule of both the lazy renewal on use and the periodic renewal job."""
    return renew is not None and period_start + renew <= now
