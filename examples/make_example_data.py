"""Write small example datasets (a public-style and a controlled-style cohort) into a directory, and the sites of
each (INFO AC/AN only): one is the demo's aggregated dataset, both together its public reference panel. The public
sites carry a small VEP annotation (CSQ) of two made-up genes, for the Beacon's gene and amino-acid queries."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pysam

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.synthetic import simulate_cohort, write_reference_fasta, write_sample_sheet  # noqa: E402

# The demo's annotation, in VEP's CSQ format: (gene, gene id, consequence, HGVSp) of the first SNVs of the public
# sites, in order. The genes are made up (the sites are simulated): DEMO1 with a missense change V600E.
DEMO_ANNOTATIONS = [
    ("DEMO1", "GGG0000001", "missense_variant", "GGP0000001.1:p.Val600Glu"),
    ("DEMO1", "GGG0000001", "synonymous_variant", "GGP0000001.1:p.Leu601="),
    ("DEMO2", "GGG0000002", "stop_gained", "GGP0000002.1:p.Arg97Ter"),
]
_CSQ_HEADER = ('##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. '
               'Format: Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|HGVSp">')

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
        if name == "public":
            annotate(sites)
        print(f"wrote {sites} (sites only)" + (", annotated (CSQ)" if name == "public" else ""))
    return 0


def annotate(path: Path) -> None:
    """Give the first SNVs of a bgzipped VCF the demo's CSQ annotation (the file is rewritten and reindexed)."""
    staged = path.with_name(f".{path.name}")
    with pysam.VariantFile(str(path)) as source:
        source.header.add_line(_CSQ_HEADER)
        with pysam.VariantFile(str(staged), "wz", header=source.header) as out:
            todo = iter(DEMO_ANNOTATIONS)
            for record in source:
                alts = record.alts or ()
                if len(record.ref) == 1 and len(alts) == 1 and len(alts[0]) == 1:
                    annotation = next(todo, None)
                    if annotation is not None:
                        gene, gene_id, consequence, protein = annotation
                        record.info["CSQ"] = (f"{alts[0]}|{consequence}|MODERATE|{gene}|{gene_id}|Transcript|"
                                              f"{gene_id}.T1|protein_coding|{protein}",)
                out.write(record)
    os.replace(staged, path)
    for index in (Path(f"{path}.tbi"), Path(f"{path}.csi")):
        index.unlink(missing_ok=True)
    pysam.tabix_index(str(path), preset="vcf", force=True)


if __name__ == "__main__":
    raise SystemExit(main())
