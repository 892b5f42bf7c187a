"""The privacy budget's pure rules: prices, the budget, the power bound, and the frequency's lower bound."""

from __future__ import annotations

import math

import numpy as np
import pytest

from beacon.privacy.domain import answer_cost, budget, haplotypes, power_bound, queries_allowed
from catalogue.frequencies import lower_bound


@pytest.mark.parametrize(("ac", "an"), [(1, 100), (5, 2_000), (50, 2_000), (999, 1_000), (1, 2), (30, 60)])
def test_the_lower_bound_is_below_the_estimate_and_covers_the_truth(ac: int, an: int) -> None:
    assert 0.0 < lower_bound(ac, an) < ac / an
    # Coverage: the bound falls below the true frequency in at least 99% of panels drawn at that frequency.
    rng = np.random.default_rng(ac * 7919 + an)
    truth = ac / an
    draws = rng.binomial(an, truth, size=4_000)
    below = np.mean([lower_bound(int(k), an) <= truth for k in draws])
    assert below >= 0.985


def test_an_allele_nobody_public_carries_has_no_lower_bound() -> None:
    assert lower_bound(0, 1_000) == 0.0 and lower_bound(3, 0) == 0.0


def test_the_cost_is_what_a_yes_can_reveal() -> None:
    # delta = (1 - f)^h: the chance an outsider's allele is absent from the cohort; a yes is worth 1 / (1 - delta).
    f, h = 0.001, 2_000
    delta = (1 - f) ** h
    assert answer_cost(f, h) == pytest.approx(-math.log(1 - delta))
    assert answer_cost(0.0, h) == math.inf and answer_cost(f, 0) == math.inf
    assert answer_cost(0.5, 2_000) == 0.0  # delta underflows: everyone gets "yes"
    assert answer_cost(0.2, 2_000) < 1e-150
    assert answer_cost(0.001, 2_000) > answer_cost(0.002, 2_000) > answer_cost(0.01, 2_000)
    assert answer_cost(0.001, 200) > answer_cost(0.001, 2_000)  # a small cohort reveals more


def test_haplotypes_are_counted_low_off_the_autosomes() -> None:
    assert haplotypes(1_000, "1") == 2_000
    assert haplotypes(1_000, "X") == haplotypes(1_000, "Y") == haplotypes(1_000, "MT") == 1_000


def test_the_budget_and_its_power_bound() -> None:
    assert budget(0.625) == pytest.approx(math.log(1.6))
    assert budget(0.0) == math.inf and budget(1.0) == 0.0
    assert power_bound(0.05, 0.625) == pytest.approx(0.08)
    assert power_bound(0.05, 0.0) == 1.0


def test_the_bound_holds_for_an_attacker_who_spends_the_whole_budget() -> None:
    """Neyman-Pearson on the exact outcome distribution: an attacker asks alleles whose prices add up to the
    budget; members hear only "yes", outsiders "yes" with probability prod(1 - delta). The best test at
    alpha = 0.05 calls "member" on all-yes with probability alpha / P(all yes | outsider): that is its power."""
    p = 0.625
    for frequencies in ([0.0004] * 3, [0.001, 0.0008], [0.002] * 10 + [0.0005], [0.0003]):
        costs = [answer_cost(f, 2_000) for f in frequencies]
        answered = []
        for f, c in zip(frequencies, costs, strict=True):
            if sum(answer_cost(a, 2_000) for a in answered) + c <= budget(p):
                answered.append(f)
        all_yes = math.prod(1 - (1 - f) ** 2_000 for f in answered)
        power = min(0.05 / all_yes, 1.0)
        assert power <= power_bound(0.05, p) + 1e-12


def test_queries_allowed_per_frequency() -> None:
    assert queries_allowed(0.5, 2_000, 0.625) == math.inf and queries_allowed(0.05, 2_000, 0.625) > 1e12
    assert queries_allowed(0.0, 2_000, 0.625) == 0
    assert queries_allowed(0.002, 2_000, 0.625) == math.floor(budget(0.625) / answer_cost(0.002, 2_000))
    assert queries_allowed(0.001, 2_000, 0.0) == math.inf
    assert queries_allowed(0.30, 2_000, 0.625) == math.inf  # a subnormal price: the quotient overflows
