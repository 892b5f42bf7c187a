"""CLI command of ingestion: `genomegate ingest FILE... --dataset ID`, with a progress bar."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from catalogue.models import Assembly
from genomegate.cli.common import OPERATOR, JsonOpt, app, emit, err, friendly, operator_session, out
from ingest.models import IngestionPublic


@app.command()
@friendly
def ingest(
    files: Annotated[list[Path], typer.Argument(help="VCF (plain or bgzipped) or BCF files", show_default=False)],
    dataset: Annotated[str, typer.Option(help="dataset id, e.g. GGD000001")],
    samples: Annotated[Path | None, typer.Option(help="sample sheet (TSV/CSV)")] = None,
    reference: Annotated[Path | None, typer.Option(help="indexed FASTA: check REF, left-align indels")] = None,
    jobs: Annotated[int, typer.Option(help="local worker processes (each stages one chunk at a time)")] = 1,
    pass_only: Annotated[bool, typer.Option("--pass-only/--all-filters", help="keep only FILTER=PASS or .")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Index VCF/BCF files into a dataset: all or nothing, safe to run again."""
    from ingest.services import run_job, start_ingestion

    with operator_session() as (session, rt):
        job = start_ingestion(session, OPERATOR, dataset, files=[f.resolve() for f in files],
                              samples=samples.resolve() if samples else None,
                              reference=reference.resolve() if reference else None, pass_only=pass_only, jobs=jobs)
    with _progress(f"ingesting {len(files)} file(s) into {dataset}", quiet=as_json) as tick:
        done = run_job(rt.engine, job.id, store_root=rt.settings.store_root, progress=tick,
                       chunk_records=rt.settings.ingest_chunk_records, lease_seconds=rt.settings.job_lease_seconds)
    if as_json:
        print(IngestionPublic.model_validate(done).model_dump_json(indent=2))
        return
    counts = done.counts
    out.print(f"[green]{done.id} succeeded[/green] in {done.provenance.get('duration_s', 0):.1f} s: "
              f"{counts['records_read']:,} records read, {counts['variants_written']:,} variants written "
              f"({counts['records_skipped_filter']:,} records skipped by FILTER, "
              f"{counts['records_skipped_other']:,} others skipped); {counts['samples']:,} samples; "
              f"dataset now holds {counts['dataset_variants']:,} variants")
    for warning in done.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)


@contextmanager
def _progress(label: str, *, quiet: bool) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar with records/s and ETA on stderr (nothing when output is for scripts)."""
    if quiet:
        yield lambda done, total: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]} records/s"), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=None, rate="-")
        started = time.monotonic()

        def tick(done: int, total: int | None) -> None:
            rate = done / max(time.monotonic() - started, 1e-6)
            bar.update(task, completed=done, total=total, rate=f"{rate:,.0f}")

        yield tick


ingestions_app = typer.Typer(help="Ingestions: their state, progress and errors (a worker that dies leaves its "
                                  "job to another: genomegate jobs).", no_args_is_help=True)
app.add_typer(ingestions_app, name="ingestions")
_JOB_COLUMNS = ["id", "state", "records_done", "records_total", "created_at", "finished_at", "job_id", "error"]


@ingestions_app.command("list")
@friendly
def ingestions_list(dataset: Annotated[str, typer.Option(help="dataset id, e.g. GGD000001")],
                    as_json: JsonOpt = False) -> None:
    """A dataset's ingestions, newest first."""
    from ingest.services import list_jobs

    with operator_session() as (session, _):
        jobs = [IngestionPublic.model_validate(j) for j in list_jobs(session, OPERATOR, dataset)]
    emit(jobs, _JOB_COLUMNS, as_json, f"Ingestions of {dataset}")


@ingestions_app.command("show")
@friendly
def ingestions_show(job: Annotated[str, typer.Argument(help="ingestion id, e.g. GGI000001")],
                    as_json: JsonOpt = False) -> None:
    """One ingestion."""
    from ingest.services import get_job

    with operator_session() as (session, _):
        found = IngestionPublic.model_validate(get_job(session, OPERATOR, job))
    emit([found], _JOB_COLUMNS, as_json, found.id)


genes_app = typer.Typer(help="Gene annotations for Beacon geneId queries.", no_args_is_help=True)
app.add_typer(genes_app, name="genes")


@genes_app.command("load")
@friendly
def genes_load(path: Annotated[Path, typer.Argument(help="GFF3 or BED file (optionally gzipped)")],
               assembly: Annotated[Assembly, typer.Option(help="the annotation's assembly")] = Assembly.GRCh38) -> None:
    """Load (replace) the genes of an assembly from a GFF3 or BED annotation."""
    from catalogue.services.genes import replace_genes
    from ingest.genes import read_genes

    with operator_session() as (session, _):
        count = replace_genes(session, OPERATOR, assembly, read_genes(path, assembly.value))
    out.print(f"{count:,} genes of {assembly.value} loaded from {path.name}")


reference_app = typer.Typer(help="Public reference allele frequencies that price Beacon questions.",
                            no_args_is_help=True)
app.add_typer(reference_app, name="reference-af")


@reference_app.command("load")
@friendly
def reference_af_load(
    paths: Annotated[list[Path], typer.Argument(help="sites VCF/BCF with INFO AC/AN (e.g. gnomAD), or genotype "
                                                     "files; one per chromosome is fine", show_default=False)],
    assembly: Annotated[Assembly, typer.Option(help="the panel's assembly")] = Assembly.GRCh38,
    pass_only: Annotated[bool, typer.Option("--pass-only/--all-filters", help="keep only FILTER=PASS or .")] = True,
) -> None:
    """Load (replace) the reference panel of an assembly: its frequencies price Beacon questions."""
    from ingest.reference_af import load_reference_af

    names = ", ".join(p.name for p in paths)
    with operator_session() as (session, _), _progress(f"reading {names}", quiet=False) as tick:
        count = load_reference_af(session, OPERATOR, [p.resolve() for p in paths], assembly=assembly,
                                  pass_only=pass_only, progress=lambda done: tick(done, None))
    out.print(f"{count:,} reference alleles of {assembly.value} loaded from {names}")
