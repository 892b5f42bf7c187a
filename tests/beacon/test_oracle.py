"""Hundreds of random sequence and range queries against what bcftools and pysam read from the source VCF."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import pysam
from sqlmodel import Session

from beacon.privacy.services import Gate, Policy
from beacon.request import from_query
from beacon.services import query_variants
from catalogue.alleles import classify
from catalogue.identity import Caller
from catalogue.models import SecurityLevel
from catalogue.runtime import Runtime
from tests.beacon.conftest import Cohort
from tests.ingest._tools import bcftools

Key = tuple[str, int, str, str]


def _trim(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Independent minimal representation: drop the shared suffix, then the shared prefix, keeping one base."""
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def _truth(cohort: Cohort, tmp: Path) -> tuple[dict[Key, list[int]], dict[Key, tuple[int, str, str]]]:
    """(key -> [AC, end]) of PASS alleles split by bcftools and counted by +fill-tags; and key -> as written."""
    split = tmp / "split.vcf.gz"
    bcftools("norm", "-m", "-any", "-O", "z", "-o", split, cohort.cohort.path)
    filled = tmp / "filled.vcf.gz"
    bcftools("+fill-tags", split, "-O", "z", "-o", filled, "--", "-t", "AC")
    truth: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    written: dict[Key, tuple[int, str, str]] = {}
    with pysam.VariantFile(str(filled)) as vcf:
        for rec in vcf:
            if set(rec.filter.keys()) - {"PASS"}:
                continue
            alt = rec.alts[0]
            if alt in ("*", "<*>", "<NON_REF>"):
                continue
            chrom = rec.chrom.removeprefix("chr")
            if alt.startswith("<"):
                pos, ref = rec.pos, rec.ref
                svlen = rec.info.get("SVLEN")
                svlen = svlen[0] if isinstance(svlen, tuple) else svlen
                end = classify(pos, ref, alt, end=rec.info.get("END"), svlen=svlen)[2]
            else:
                pos, ref, alt = _trim(rec.pos, rec.ref, alt)
                end = pos + len(ref) - 1
            key = (chrom, pos, ref, alt)
            truth[key][0] += int(rec.info["AC"][0])
            truth[key][1] = end
            written[key] = (rec.pos, rec.ref, rec.alts[0])
    return {k: v for k, v in truth.items() if v[0] > 0}, written


def _ask(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    request = from_query([(k, str(v)) for k, v in params.items()] + [("requestedGranularity", "count")],
                         max_limit=100)
    return query_variants(session, Caller(), request, base_url="http://x", gate=Gate(None, Policy()))


def test_random_queries_match_the_source_vcf(runtime: Runtime, session: Session, cohort: Cohort,
                                             make_beacon_dataset: Any, tmp_path: Path) -> None:
    make_beacon_dataset(SecurityLevel.PUBLIC, "Oracle", count_threshold=0)
    truth, written = _truth(cohort, tmp_path)
    assert any(k[3].startswith("<") for k in truth) and any(len(k[2]) != len(k[3]) for k in truth)
    rng = random.Random(5)
    keys = sorted(truth)
    styles = ["{c}", "chr{c}"]
    checked = 0
    for key in rng.sample(keys, 150):
        chrom, pos, ref, alt = key
        name = rng.choice(styles).format(c=chrom)
        # As stored, and as written in the file (padded, multi-allelic-split, untrimmed): both must find it.
        for qpos, qref, qalt in ((pos, ref, alt), written[key]):
            body = _ask(session, {"referenceName": name, "start": qpos - 1, "referenceBases": qref,
                                  "alternateBases": qalt})
            assert body["responseSummary"] == {"exists": True, "numTotalResults": 1}, (key, qpos, qref, qalt)
            assert body["response"]["resultSets"][0]["info"]["alleleCount"] == truth[key][0], key
            checked += 1
        miss_alt = next(b for b in "ACGT" if b != alt[:1] and (chrom, pos, ref, b) not in truth)
        miss = _ask(session, {"referenceName": name, "start": pos - 1, "referenceBases": ref,
                              "alternateBases": miss_alt})
        assert miss["responseSummary"] == {"exists": False, "numTotalResults": 0}, key
        # A 1-based slip must miss (unless the neighbour happens to be the same allele).
        if (chrom, pos + 1, ref, alt) not in truth:
            slip = _ask(session, {"referenceName": name, "start": pos, "referenceBases": ref, "alternateBases": alt})
            assert slip["responseSummary"]["exists"] is False, key
    by_chrom: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for (chrom, pos, _r, _a), (ac, end) in truth.items():
        by_chrom[chrom].append((pos, end, ac))
    for _ in range(150):
        chrom = rng.choice(sorted(by_chrom))
        anchor = rng.choice(by_chrom[chrom])[0]
        start = max(0, anchor - 1 + rng.randint(-3000, 3000))
        end = start + rng.choice([1, 2, 10, 500, 5000, 50_000])
        expected = [(p, e, ac) for p, e, ac in by_chrom[chrom] if p <= end and e >= start + 1]
        body = _ask(session, {"referenceName": rng.choice(styles).format(c=chrom), "start": start, "end": end})
        assert body["responseSummary"]["exists"] == bool(expected), (chrom, start, end)
        assert body["responseSummary"]["numTotalResults"] == len(expected), (chrom, start, end)
        if expected:
            assert body["response"]["resultSets"][0]["info"]["alleleCount"] == sum(ac for *_, ac in expected)
        checked += 1
    assert checked >= 400
