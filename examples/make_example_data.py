"""Write small example datasets (a public-style and a controlled-style cohort) into a directory, and the sites of
each (INFO AC/AN only): one is the demo's aggregated dataset, both together its public reference panel."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.synthetic import simulate_cohort, write_reference_fasta, write_sample_sheet  # noqa: E402

# name -> (file name, simulate_cohort arguments)
DATASETS = {
    "public": (
        "public_cohort.vcf.gz",
        {"samples": 100, "variants_per_contig": 1500, "contigs": ("1", "2"), "include_x": True, "seed": 101},
    ),
    "controlled": (
        "controlled_cohort.bcf",
        {"samples": 60, "variants_per_contig": 1000, "contigs": ("21", "22"), "include_x": True, "seed": 202,
         "chr_prefix": False, "fmt": "bcf"},
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path, help="where to write the files (created if missing)")
    parser.add_argument("--force", action="store_true", help="rewrite files that already exist")
    args = parser.parse_args(argv)
    out: Path = args.directory
    out.mkdir(parents=True, exist_ok=True)
    reference = out / "reference.fa"
    if args.force or not reference.exists():
        write_reference_fasta(reference, ["chr1", "chr2", "chrX"], 80_000, seed=7)
        print(f"wrote {reference}")
    for name, (file_name, options) in DATASETS.items():
        path = out / file_name
        sheet = out / f"{name}_samples.tsv"
        if path.exists() and sheet.exists() and not args.force:
            print(f"skip {path} (exists; --force rewrites it)")
            continue
        extra = {"reference": reference} if name == "public" else {}
        cohort = simulate_cohort(path, **options, **extra)  # type: ignore[arg-type]
        write_sample_sheet(sheet, cohort)
        print(f"wrote {path} ({cohort.records} records, {len(cohort.samples)} samples) and {sheet}")
        # The same seed and options give the same sites and counts, written without genotypes (X only once: a
        # panel gives each chromosome once, and X comes last, so leaving it out keeps the other sites the same).
        sites = out / f"{name}_sites.vcf.gz"
        only = {"fmt": "vcf.gz", "include_x": options.get("include_x", False) and name == "public"}
        simulate_cohort(sites, **{**options, **only}, **extra, sites_only=True)  # type: ignore[arg-type]
        print(f"wrote {sites} (sites only)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
