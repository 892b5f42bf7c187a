"""External tools the ingest tests use as oracles: skip without them, fail without them on CI."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from catalogue.alleles import trim

__all__ = ["Counts", "Key", "assert_counts_equal", "bcftools", "bcftools_counts", "minimal", "require"]

_PLUGIN_DIRS = ("/usr/lib/x86_64-linux-gnu/bcftools", "/usr/libexec/bcftools", "/usr/local/libexec/bcftools")
Counts = tuple[int, int, int, int, int]  # ac, an, het, hom_alt, hemi_alt
Key = tuple[str, int, str, str]  # chrom (no "chr"), pos, ref, alt: as the variant index keys an allele


def require(tool: str) -> str:
    """Path of `tool`; skip the test when it is missing, or fail when CI=true."""
    path = shutil.which(tool)
    if path is None:
        reason = f"{tool} is not installed; the ingest oracle tests need it (apt-get install {tool})"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def bcftools(*args: str | Path) -> str:
    """Run bcftools with the plugin directory set; return stdout, failing the test on errors."""
    exe = require("bcftools")
    env = dict(os.environ)
    if "BCFTOOLS_PLUGINS" not in env:
        env["BCFTOOLS_PLUGINS"] = ":".join(d for d in _PLUGIN_DIRS if Path(d).is_dir())
    result = subprocess.run([exe, *map(str, args)], capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        pytest.fail(f"bcftools {' '.join(map(str, args))} failed: {result.stderr.strip()}")
    return result.stdout


def bcftools_counts(path: Path, folder: Path) -> dict[Key, Counts]:
    """bcftools' counts of every PASS allele of a VCF with genotypes: split (`norm -m -any`), counted from the
    genotypes (`+fill-tags -t AC,AN,AC_Het,AC_Hom,AC_Hemi`), keyed as the variant index keys them."""
    split, filled = folder / f"{path.name}.split.vcf.gz", folder / f"{path.name}.filled.vcf.gz"
    bcftools("norm", "-m", "-any", "-O", "z", "-o", split, path)
    bcftools("+fill-tags", split, "-O", "z", "-o", filled, "--", "-t", "AC,AN,AC_Het,AC_Hom,AC_Hemi")
    out = bcftools("query", "-i", 'FILTER="PASS" || FILTER="."', "-f",
                   "%CHROM\t%POS\t%REF\t%ALT\t%AC\t%AN\t%AC_Het\t%AC_Hom\t%AC_Hemi\n", filled)
    counts: dict[Key, Counts] = {}
    for line in out.splitlines():
        chrom, pos, ref, alt, ac, an, het, hom, hemi = line.split("\t")
        key = ((chrom, int(pos), ref, alt) if alt.startswith("<") else (chrom, *trim(int(pos), ref, alt)))
        key = (key[0].removeprefix("chr"), key[1], key[2], key[3])
        # AC_Hom counts alleles (two per homozygous diploid); AC_Het one per heterozygous carrier of a split record
        values = (int(ac), int(an), int(het), int(hom) // 2, int(hemi))
        seen = counts.get(key)  # records that normalise to one allele are summed, as the reader merges them
        counts[key] = values if seen is None else tuple(a + b for a, b in zip(seen, values, strict=True))  # type: ignore[assignment]
    return counts


def assert_counts_equal(stored: dict[Key, Counts], oracle: dict[Key, Counts]) -> None:
    """Every allele bcftools counts is stored, none other, with its AC, AN, het and hom + hemi carriers.

    A carrier with one call missing (./1) is hemizygous to bcftools and homozygous to the reader: the carriers
    whose called alleles are all ALT (hom + hemi) are compared."""
    assert stored.keys() == oracle.keys(), (sorted(stored.keys() - oracle.keys())[:5],
                                            sorted(oracle.keys() - stored.keys())[:5])
    for key, (ac, an, het, hom, hemi) in oracle.items():
        got = stored[key]
        assert (got[0], got[1], got[2], got[3] + got[4]) == (ac, an, het, hom + hemi), key


def minimal(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """An allele's minimal representation, written independently of the code under test (catalogue.alleles):
    suffix trimmed first, then prefix, one base kept; symbolic alleles as they are."""
    if alt.startswith("<"):
        return pos, ref, alt
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt
