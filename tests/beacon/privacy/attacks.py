"""Membership-inference attacks on the Beacon over HTTP: a seeded population, the attackers, and their power."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import cyvcf2
import httpx
import numpy as np
import pysam
import pysam.bcftools as bcftools

from beacon.privacy.domain import answer_cost, budget, haplotypes
from catalogue.frequencies import lower_bound
from ingest.synthetic import simulate_cohort, write_sample_sheet

__all__ = [
    "AF_BANDS", "COMMON_AF", "SEED", "Allele", "Answer", "AttackRun", "BeaconProbe", "LikelihoodModel", "Trace",
    "World", "adaptive_plan", "band_budgets", "defence_cost", "group_size", "power", "power_curve",
    "rare_first_order", "run_attack", "sb_order", "simulate_world", "table",
]

SEED = 2015  # every draw of the suite (population, roles, victims, SB orders) derives from it
ERROR_RATE = 1e-6  # P(no | member): the attacker's allowance for a genotyping error
AF_FLOOR = 1e-5  # the attacker's frequency for an allele the panel never saw
NEGLIGIBLE = 1e-4  # nats: evidence an adaptive attacker does not spend a query on
COMMON_AF = 0.01  # panel frequency from which an answer is "yes" for everyone (and is never refused)
AF_BANDS: tuple[tuple[str, float, float], ...] = (
    ("<0.1%", 0.0, 0.001), ("0.1-0.5%", 0.001, 0.005), ("0.5-1%", 0.005, 0.01), ("1-5%", 0.01, 0.05),
    (">=5%", 0.05, 1.01),
)


# --- the simulated world --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class Allele:
    """One ALT allele as the VCF spells it (1-based POS)."""

    pos: int
    ref: str
    alt: str


@dataclass(frozen=True)
class World:
    """Members in the Beacon, held-out outsiders, a public panel, and what an attacker knows of each victim."""

    chrom: str
    members_file: Path  # the Beacon's genotypes (BCF)
    sample_sheet: Path  # the members' sex, population, diseases
    panel_sites: Path  # the public panel: a sites VCF with INFO AC/AN
    members: list[str]
    outsiders: list[str]
    panel: list[str]
    population_of: dict[str, str]
    genomes: dict[str, list[Allele]]  # every member's and outsider's ALT alleles
    panel_ac: dict[Allele, int]
    panel_an: int
    population_ac: dict[str, dict[Allele, int]]  # the panel's counts per population (public, as in gnomAD)
    population_an: dict[str, int]

    def panel_af(self, allele: Allele) -> float:
        return self.panel_ac.get(allele, 0) / self.panel_an

    def population_af(self, population: str, allele: Allele) -> float:
        an = self.population_an.get(population, 0)
        return self.population_ac.get(population, {}).get(allele, 0) / an if an else 0.0


def _write_names(path: Path, names: Iterable[str]) -> Path:
    path.write_text("".join(f"{n}\n" for n in names))
    return path


def _subset(source: Path, names: Path, out: Path, *args: str) -> Path:
    """`bcftools view -S names -c 1`: the subset's own AC/AN (bcftools recomputes them), carried alleles only."""
    bcftools.view("-S", str(names), "-c", "1", *args, "-o", str(out), str(source), catch_stdout=False)
    bcftools.index("-f", str(out))
    return out


def _members_sheet(sheet: Path, members: set[str], out: Path) -> Path:
    with open(sheet, newline="") as src, open(out, "w", newline="") as dst:
        reader = csv.reader(src, delimiter="\t")
        writer = csv.writer(dst, delimiter="\t", lineterminator="\n")
        writer.writerow(next(reader))
        writer.writerows(row for row in reader if row[0] in members)
    return out


def _genotypes(path: Path) -> tuple[list[str], list[Allele], np.ndarray]:
    """(samples, alleles, ALT copies per allele and sample) of a bi-allelic VCF/BCF, read back with cyvcf2."""
    vcf = cyvcf2.VCF(str(path), gts012=True)
    names = list(vcf.samples)
    alleles: list[Allele] = []
    copies: list[np.ndarray] = []
    for record in vcf:
        (alt,) = record.ALT
        alleles.append(Allele(record.POS, record.REF, alt))
        calls = record.gt_types  # 0 hom-ref, 1 het, 2 hom-alt, 3 unknown (none in this simulation)
        copies.append(np.where(calls == 3, 0, calls).astype(np.int8))
    vcf.close()
    return names, alleles, np.array(copies, dtype=np.int8).reshape(len(alleles), len(names))


def _carried(path: Path) -> dict[str, list[Allele]]:
    """Each sample's ALT alleles (het or hom-alt calls)."""
    names, alleles, copies = _genotypes(path)
    return {name: [alleles[i] for i in np.flatnonzero(copies[:, j])] for j, name in enumerate(names)}


def _population_counts(path: Path, population_of: dict[str, str]) -> tuple[dict[str, dict[Allele, int]],
                                                                           dict[str, int]]:
    """The panel's AC per allele and AN per population (what gnomAD publishes as AC_<pop>, AN_<pop>)."""
    names, alleles, copies = _genotypes(path)
    groups = np.array([population_of[n] for n in names])
    ac: dict[str, dict[Allele, int]] = {}
    an: dict[str, int] = {}
    for population in sorted(set(groups.tolist())):
        sums = copies[:, groups == population].sum(axis=1)
        ac[population] = {alleles[i]: int(sums[i]) for i in np.flatnonzero(sums)}
        an[population] = 2 * int(np.count_nonzero(groups == population))
    return ac, an


def _panel_counts(path: Path) -> tuple[dict[Allele, int], int]:
    """AC per allele and AN from the panel's sites file, as the operator loads it (read with pysam)."""
    ac: dict[Allele, int] = {}
    an = 0
    with pysam.VariantFile(str(path)) as sites:
        for record in sites:
            assert record.ref is not None and record.alts is not None
            ac[Allele(record.pos, record.ref, record.alts[0])] = int(record.info["AC"][0])
            an = max(an, int(record.info["AN"]))
    return ac, an


def simulate_world(folder: Path, *, members: int, outsiders: int, panel: int, sites: int, seed: int) -> World:
    """A seeded population on chromosome 1, split with bcftools into the Beacon's members, outsiders and a panel.

    One population VCF (SNVs and indels, no multi-allelics, SVs, missing calls or filtered records) with many
    private alleles (af_floor 1e-6); everyone is assigned a role at random, so the three groups share ancestry.
    """
    total = members + outsiders + panel
    cohort = simulate_cohort(folder / "population.vcf.gz", samples=total, variants_per_contig=sites, contigs=("1",),
                             chr_prefix=False, seed=seed, multiallelic_rate=0.0, sv_rate=0.0, missing_rate=0.0,
                             filtered_rate=0.0, af_floor=1e-6)
    order = np.random.default_rng([seed, 0xBEAC]).permutation(total)
    names = [cohort.samples[i] for i in order]
    member_ids, outsider_ids = names[:members], names[members:members + outsiders]
    panel_ids = names[members + outsiders:]
    members_file = _subset(cohort.path, _write_names(folder / "members.txt", member_ids), folder / "members.bcf",
                           "-Ob")
    outsiders_file = _subset(cohort.path, _write_names(folder / "outsiders.txt", outsider_ids),
                             folder / "outsiders.bcf", "-Ob")
    panel_file = _subset(cohort.path, _write_names(folder / "panel.txt", panel_ids), folder / "panel.bcf", "-Ob")
    panel_sites = folder / "panel.sites.vcf.gz"
    bcftools.view("-G", "-Oz", "-o", str(panel_sites), str(panel_file), catch_stdout=False)
    bcftools.index("-t", "-f", str(panel_sites))
    sheet = write_sample_sheet(folder / "population.tsv", cohort, seed=seed)
    population_of = dict(zip(cohort.samples, cohort.populations, strict=True))
    genomes = _carried(members_file) | _carried(outsiders_file)
    panel_ac, panel_an = _panel_counts(panel_sites)
    population_ac, population_an = _population_counts(panel_file, population_of)
    return World(chrom="1", members_file=members_file,
                 sample_sheet=_members_sheet(sheet, set(member_ids), folder / "members.tsv"),
                 panel_sites=panel_sites, members=member_ids, outsiders=outsider_ids, panel=panel_ids,
                 population_of=population_of, genomes=genomes, panel_ac=panel_ac, panel_an=panel_an,
                 population_ac=population_ac, population_an=population_an)


# --- asking the Beacon ----------------------------------------------------------------------------------------


class Answer(Enum):
    YES = "yes"
    NO = "no"
    TOO_REVEALING = "403"  # this allele is never answered; the account may go on
    SPENT = "429"  # the account's budget for the dataset is spent: every new question is refused


@dataclass
class BeaconProbe:
    """One account asking one dataset of the Beacon, over HTTP, whether it holds an allele."""

    client: httpx.Client
    dataset_id: str
    token: str
    chrom: str = "1"
    filters: str | None = None

    def ask(self, allele: Allele) -> Answer:
        params = {"referenceName": self.chrom, "start": str(allele.pos - 1), "referenceBases": allele.ref,
                  "alternateBases": allele.alt, "datasetIds": self.dataset_id, "requestedGranularity": "boolean"}
        if self.filters:
            params["filters"] = self.filters
        response = self.client.get("/beacon/v2/g_variants", params=params,
                                   headers={"Authorization": f"Bearer {self.token}"})
        if response.status_code == 200:
            return Answer.YES if response.json()["responseSummary"]["exists"] else Answer.NO
        if response.status_code == 403:
            return Answer.TOO_REVEALING
        if response.status_code == 429:
            return Answer.SPENT
        raise AssertionError(f"unexpected {response.status_code} for {allele}: {response.text[:500]}")


def group_size(client: httpx.Client, dataset_id: str, token: str, filters: str) -> int:
    """How many of the dataset's individuals a filter selects: a count the Beacon's individuals endpoint gives."""
    response = client.get("/beacon/v2/individuals", params={"filters": filters, "requestedGranularity": "count"},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text[-500:]
    (found,) = [s for s in response.json()["response"]["resultSets"] if s["id"] == dataset_id]
    return int(found["resultsCount"])


# --- the attacker's statistic ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LikelihoodModel:
    """Shringarpure & Bustamante's per-answer log-likelihood ratio of membership.

    P(no | outsider) = (1 - f)^h for an allele of frequency f (floored) in a Beacon of h haplotypes;
    P(no | member) = the error rate.
    """

    haplotypes: int
    error: float = ERROR_RATE
    floor: float = AF_FLOOR

    def absent(self, af: float) -> float:
        """P(no | outsider): no haplotype of the Beacon carries the allele."""
        return math.exp(self.haplotypes * math.log1p(-min(max(af, self.floor), 1.0 - 1e-12)))

    def evidence(self, af: float) -> float:
        """What a "yes" adds to the statistic, in nats."""
        return math.log1p(-self.error) - math.log1p(-self.absent(af))

    def log_ratio(self, af: float, answer: Answer) -> float:
        if answer is Answer.YES:
            return self.evidence(af)
        if answer is Answer.NO:
            return math.log(self.error) - math.log(max(self.absent(af), 1e-300))
        return 0.0


@dataclass
class Trace:
    """One attack on one victim: the statistic after each question, and what the Beacon answered.

    `implied` questions are about alleles common in the panel (COMMON_AF and up): the attack counts them, in
    its order, with the answer "yes" without sending them (see run_attack).
    """

    statistics: list[float] = field(default_factory=list)
    sent: int = 0
    answered: int = 0
    noes: int = 0
    implied: int = 0
    too_revealing: int = 0
    spent: int = 0  # 429s (the attack stops at the first)

    @property
    def queries(self) -> int:
        return len(self.statistics)

    @property
    def final(self) -> float:
        return self.statistics[-1] if self.statistics else 0.0

    def at(self, queries: int) -> float:
        """The statistic after the first `queries` questions (the last one when the attack stopped before)."""
        if not self.statistics:
            return 0.0
        return self.statistics[min(queries, len(self.statistics)) - 1]


def run_attack(ask: Callable[[Allele], Answer], order: Iterable[Allele], af: Callable[[Allele], float],
               model: LikelihoodModel, limit: int, implied: Callable[[Allele], bool] = lambda _: False,
               stop_at_no: bool = False) -> Trace:
    """Ask alleles in `order` (at most `limit` questions), summing the log-likelihood ratio; stop at the first 429
    (and at the first "no" with `stop_at_no`: a member is never told "no" about its own allele).

    Questions `implied` holds for are counted as answered "yes" without an HTTP request: for an allele of panel
    frequency 1% and up, a Beacon of 1,000 genomes lacks it with probability about e^-20, the answer is "yes" for
    members and outsiders alike, and it costs and adds under 1e-5 nats each (tests assert this over HTTP).
    They make a victim's thousands of common alleles affordable on two cores without changing the statistic.
    """
    trace = Trace()
    total = 0.0
    for allele in order:
        if trace.queries >= limit:
            break
        if implied(allele):
            answer = Answer.YES
            trace.implied += 1
        else:
            answer = ask(allele)
            trace.sent += 1
        total += model.log_ratio(af(allele), answer)
        trace.statistics.append(total)
        if answer is Answer.TOO_REVEALING:
            trace.too_revealing += 1
        elif answer is Answer.SPENT:
            trace.spent += 1
            break
        else:
            trace.answered += 1
            if answer is Answer.NO:
                trace.noes += 1
                if stop_at_no:
                    break
    return trace


# --- the attackers' orders ------------------------------------------------------------------------------------


def sb_order(alleles: Sequence[Allele], rng: np.random.Generator) -> list[Allele]:
    """Shringarpure & Bustamante: the victim's alleles in random order."""
    return [alleles[i] for i in rng.permutation(len(alleles))]


def rare_first_order(alleles: Sequence[Allele], af: Callable[[Allele], float]) -> list[Allele]:
    """Raisaro et al.: the rarest of the victim's alleles in the panel first (unknown ones before all)."""
    return sorted(alleles, key=lambda a: (af(a), a))


def defence_cost(ac: int, an: int, haplotypes: int) -> float:
    """What the Beacon charges for a question about an allele seen `ac` times in `an` panel alleles: public
    arithmetic an attacker can do as well (the domain's own functions)."""
    return answer_cost(lower_bound(ac, an), haplotypes)


def adaptive_plan(alleles: Sequence[Allele], cost: Callable[[Allele], float], evidence: Callable[[Allele], float],
                  budget: float) -> list[Allele]:
    """The attacker that knows the defence: never asks what it knows is refused, and spends the budget where it buys
    the most evidence.

    A knapsack filled greedily by evidence per nat of budget: an allele is asked when its cost still fits in what
    is left. Alleles whose "yes" would add less than NEGLIGIBLE nats are not worth a question (a "no" is then as
    unlikely for an outsider, so they cannot move the statistic). Without a budget: the most telling alleles first.
    """
    useful = [(e, cost(a), a) for a in alleles if (e := evidence(a)) >= NEGLIGIBLE]
    if math.isinf(budget):
        return [a for _e, _c, a in sorted(useful, key=lambda t: (-t[0], t[2]))]
    useful = [(e, c, a) for e, c, a in useful if c <= budget]
    useful.sort(key=lambda t: (-(t[0] / t[1]) if t[1] > 0 else -math.inf, t[2]))
    plan: list[Allele] = []
    left = budget
    for _evidence, price, allele in useful:
        if price <= left:
            plan.append(allele)
            left -= price
    return plan


# --- power ------------------------------------------------------------------------------------------------------


def power(members: Sequence[float], outsiders: Sequence[float], alpha: float = 0.05, digits: int = 9) -> float:
    """The power of the Neyman-Pearson randomised test at false-positive rate exactly `alpha`.

    Call "member" when S > t, and with probability gamma when S = t; t and gamma are chosen from the outsiders'
    statistics so that P_outsider(call member) = alpha. Statistics equal to `digits` decimals are ties (many
    victims get the same answers, and sums in another order differ in the last bits).
    """
    if not members or not outsiders:
        raise ValueError("power needs statistics of both members and outsiders")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], not {alpha}")
    if alpha == 1.0:
        return 1.0  # call everyone a member
    m = np.round(np.asarray(members, dtype=float), digits)
    o = np.round(np.asarray(outsiders, dtype=float), digits)
    for t in np.unique(o)[::-1]:  # from the largest outsider statistic down
        above = float(np.mean(o > t))
        at = float(np.mean(o == t))
        if above + at >= alpha:
            gamma = (alpha - above) / at
            return float(np.mean(m > t) + gamma * np.mean(m == t))
    raise AssertionError("unreachable: every outsider is at or below the smallest outsider statistic")


def power_curve(members: Sequence[Trace], outsiders: Sequence[Trace], queries: Sequence[int],
                alpha: float = 0.05) -> dict[int, float]:
    """The power after each number of questions (victims whose attack stopped earlier keep their last statistic)."""
    return {k: power([t.at(k) for t in members], [t.at(k) for t in outsiders], alpha) for k in queries}


@dataclass(frozen=True, slots=True)
class AttackRun:
    """One attacker against one setting of the defence, over all victims."""

    attack: str
    defence: str
    members: list[Trace]
    outsiders: list[Trace]
    seconds: float = 0.0

    @property
    def traces(self) -> list[Trace]:
        return self.members + self.outsiders

    @property
    def power(self) -> float:
        return power([t.final for t in self.members], [t.final for t in self.outsiders])

    @property
    def refuted(self) -> float:
        """The share of outsiders told "no" at least once: at most 1 - p when every answer is charged (members,
        always told "yes", are then at most 1 / p times likelier to get their answers than outsiders)."""
        return float(np.mean([t.noes > 0 for t in self.outsiders]))

    def row(self) -> dict[str, object]:
        traces = self.traces
        return {
            "attack": self.attack, "defence": self.defence, "victims": f"{len(self.members)}+{len(self.outsiders)}",
            "power": f"{self.power:.3f}", "outsiders told no": f"{self.refuted:.2f}",
            "max queries": max(t.queries for t in traces),
            "mean queries": f"{np.mean([t.queries for t in traces]):.1f}",
            "sent": sum(t.sent for t in traces), "answered": sum(t.answered - t.implied for t in traces),
            "implied yes": sum(t.implied for t in traces), "403": sum(t.too_revealing for t in traces),
            "429": sum(t.spent for t in traces), "seconds": f"{self.seconds:.1f}",
        }


def table(rows: Sequence[dict[str, object]]) -> str:
    """Rows of equal keys as a plain-text table."""
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(str(r[k])) for r in rows)) for k in keys}
    lines = ["  ".join(k.rjust(widths[k]) for k in keys)]
    lines += ["  ".join(str(r[k]).rjust(widths[k]) for k in keys) for r in rows]
    return "\n".join(lines)


# --- what one budget buys ---------------------------------------------------------------------------------------


def band_budgets(world: World, samples: int, p: float) -> list[dict[str, object]]:
    """Per public-AF band: how many distinct questions one account's budget answers about one dataset.

    From the domain's own functions for a Beacon of `samples` genomes and this world's panel (the Beacon charges
    from the panel's lower bound, so panel size matters): at the band's edges, and over the panel's alleles
    in the band (how many are refused as too revealing, and the median allowance of the others).
    """
    h = haplotypes(samples, world.chrom)
    an = world.panel_an

    def allowance(ac: int) -> float:
        # queries_allowed(lower_bound(ac, an), h, p), which overflows for free-but-not-zero costs (see the note)
        cost = answer_cost(lower_bound(ac, an), h)
        return 0.0 if cost > budget(p) else (math.inf if cost < budget(p) / 1e15 else float(budget(p) // cost))

    def shown(n: float) -> str:
        return "all" if math.isinf(n) else (f"{n:.0f}" if n < 1e6 else f"{n:.1e}")

    rows: list[dict[str, object]] = []
    for label, low, high in AF_BANDS:
        in_band = [ac for ac in world.panel_ac.values() if low <= ac / an < high]
        answerable = [n for n in (allowance(ac) for ac in in_band) if n > 0]
        rows.append({"public AF": label, "panel alleles": len(in_band),
                     "refused (403)": len(in_band) - len(answerable),
                     "per account at lower edge": shown(allowance(max(math.ceil(low * an), 1))),
                     "at upper edge": shown(allowance(min(math.ceil(high * an) - 1, an))),
                     "median (answerable)": shown(float(np.median(answerable))) if answerable else "-"})
    return rows
