"""CLI commands of the catalogue and operations: serve, db, auth, admin, org, dac, dataset, demo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from catalogue.models import (
    PRIVACY_P,
    Assembly,
    DacCreate,
    DacPublic,
    DatasetCreate,
    DatasetPublic,
    OrganisationCreate,
    OrganisationPublic,
    Role,
    RoleGrantCreate,
    RoleGrantPublic,
    SecurityLevel,
)
from catalogue.services import datasets as ds
from catalogue.services import registry, roles
from catalogue.services.search import DatasetQuery, search_datasets
from catalogue.tokens import parse_duration
from genomegate.cli.common import (
    OPERATOR,
    Exit,
    JsonOpt,
    admin_app,
    app,
    auth_app,
    cell,
    dac_app,
    dataset_app,
    db_app,
    emit,
    err,
    friendly,
    operator_session,
    org_app,
    out,
    runtime,
)
from genomegate.schema import schema_status, upgrade


@app.command()
@friendly
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          migrate: Annotated[bool, typer.Option(help="upgrade the schema first if it is behind")] = False,
          with_worker: Annotated[bool, typer.Option("--with-worker", help="also run one `genomegate worker` "
                                                    "process, which ends with the server (one-machine nodes)")] = False,
          ) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs). Background jobs run in `genomegate worker` processes."""
    import uvicorn

    rt = runtime()
    status = schema_status(rt.engine)
    if not status.is_current:
        if not migrate:
            raise Exit(f"the database schema is at {status.current or 'nothing'}, the code needs {status.head}: "
                       "run `genomegate db upgrade` (or `genomegate serve --migrate`)")
        upgrade(rt.engine)
    rt.engine.dispose()
    child = _start_worker() if with_worker else None
    err.print(f"GenomeGate on http://{host}:{port}  (API docs: http://{host}:{port}/docs)"
              + (f"; worker process {child.pid}" if child else ""))
    try:
        uvicorn.run("genomegate.app:create_app", factory=True, host=host, port=port, workers=workers,
                    log_level="warning", access_log=False)
    finally:
        if child is not None:
            _stop(child)


def _start_worker() -> subprocess.Popen[bytes]:
    """One `genomegate worker` that the kernel ends if this process dies (--parent: PR_SET_PDEATHSIG)."""
    return subprocess.Popen([sys.executable, "-m", "genomegate", "worker", "--parent", str(os.getpid())])


def _stop(child: subprocess.Popen[bytes]) -> None:
    child.terminate()  # SIGTERM: the worker finishes its running jobs, then exits
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


@db_app.command("upgrade")
@friendly
def db_upgrade() -> None:
    """Migrate the database to the schema this code needs."""
    rt = runtime()
    before = schema_status(rt.engine)
    upgrade(rt.engine)
    after = schema_status(rt.engine)
    out.print(f"database {rt.engine.url.render_as_string(hide_password=True)}: "
              f"{before.current or 'empty'} -> {after.current}")


@db_app.command("status")
@friendly
def db_status() -> None:
    """Show the database's schema revision and the one the code needs."""
    status = schema_status(runtime().engine)
    state = "current" if status.is_current else "behind: run `genomegate db upgrade`"
    out.print(f"schema {status.current or 'empty'} (code needs {status.head}): {state}")


# --- auth and roles ----------------------------------------------------------------------------------

@auth_app.command("token")
@friendly
def auth_token(subject: Annotated[str, typer.Option(help="who the token names, e.g. alice@example.org")],
               name: str | None = None, email: str | None = None,
               expires: Annotated[str, typer.Option(help="lifetime: 90s, 15m, 8h, 30d")] = "8h") -> None:
    """Print a bearer token the server accepts (built-in issuer)."""
    rt = runtime()
    if rt.issuer is None:
        raise Exit("the built-in issuer is switched off (GENOMEGATE_LOCAL_ISSUER=false)")
    print(rt.issuer.issue(subject, name=name, email=email, expires=parse_duration(expires)))


@admin_app.command("grant")
@friendly
def admin_grant(subject: Annotated[str, typer.Option()], role: Annotated[Role, typer.Option()],
                org: Annotated[str | None, typer.Option(help="organisation, for steward")] = None,
                dac: Annotated[str | None, typer.Option(help="DAC, for dac-member")] = None) -> None:
    """Give a subject a role (the CLI acts as the operator)."""
    with operator_session() as (session, _):
        grant = roles.grant_role(session, OPERATOR, RoleGrantCreate(
            subject=subject, role=role, organisation_id=org, dac_id=dac))
    scope = grant.organisation_id or grant.dac_id
    out.print(f"{grant.subject} is {grant.role}{' of ' + scope if scope else ''}")


@admin_app.command("list")
@friendly
def admin_list(subject: str | None = None, as_json: JsonOpt = False) -> None:
    """List role grants."""
    with operator_session() as (session, _):
        grants = [RoleGrantPublic.model_validate(g) for g in roles.list_role_grants(session, OPERATOR, subject)]
    emit(grants, ["id", "subject", "role", "organisation_id", "dac_id", "granted_by"], as_json, "Roles")


# --- organisations and DACs --------------------------------------------------------------------------

@org_app.command("create")
@friendly
def org_create(name: Annotated[str, typer.Option()], contact: str | None = None) -> None:
    """Register an organisation; prints its id."""
    with operator_session() as (session, _):
        org = registry.create_organisation(session, OPERATOR, OrganisationCreate(name=name, contact_email=contact))
    print(org.id)


@org_app.command("list")
@friendly
def org_list(as_json: JsonOpt = False) -> None:
    """List organisations."""
    with operator_session() as (session, _):
        orgs = [OrganisationPublic.model_validate(o) for o in registry.list_organisations(session)]
    emit(orgs, ["id", "name", "contact_email"], as_json, "Organisations")


@dac_app.command("create")
@friendly
def dac_create(name: Annotated[str, typer.Option()], contact: Annotated[str, typer.Option(help="e-mail")],
               description: str = "", quorum: int = 1) -> None:
    """Register a data access committee; prints its id."""
    with operator_session() as (session, _):
        dac = registry.create_dac(session, OPERATOR, DacCreate(
            name=name, contact_email=contact, description=description, quorum=quorum))
    print(dac.id)


@dac_app.command("list")
@friendly
def dac_list(as_json: JsonOpt = False) -> None:
    """List data access committees."""
    with operator_session() as (session, _):
        dacs = [DacPublic.model_validate(d) for d in registry.list_dacs(session)]
    emit(dacs, ["id", "name", "contact_email", "quorum"], as_json, "Data access committees")


# --- datasets ----------------------------------------------------------------------------------------

@dataset_app.command("create")
@friendly
def dataset_create(
    title: Annotated[str, typer.Option()],
    assembly: Annotated[Assembly, typer.Option()],
    security: Annotated[SecurityLevel, typer.Option()],
    org: Annotated[str, typer.Option(help="owning organisation id")],
    dac: Annotated[str | None, typer.Option(help="DAC id (required for CONTROLLED)")] = None,
    duo: Annotated[list[str] | None, typer.Option(help="data use condition (repeatable), e.g. DUO:0000042")] = None,
    disease: Annotated[list[str] | None, typer.Option(help="disease term for DS (repeatable)")] = None,
    description: str = "",
    keyword: Annotated[list[str] | None, typer.Option(help="keyword (repeatable)")] = None,
    contact: str | None = None,
    dua: Annotated[str, typer.Option(help="data access agreement text")] = "",
    privacy_p: Annotated[float, typer.Option(help="Beacon privacy budget parameter p: any membership test's power "
                                                  "<= alpha / p (0 switches the defence off)")] = PRIVACY_P,
) -> None:
    """Register a draft dataset; prints its id."""
    with operator_session() as (session, _):
        dataset = ds.create_dataset(session, OPERATOR, DatasetCreate(
            title=title, assembly=assembly, security=security, organisation_id=org, dac_id=dac,
            duo=duo or [], disease_terms=disease or [], description=description, keywords=keyword or [],
            contact_email=contact, dua_text=dua, privacy_p=privacy_p,
        ))
    print(dataset.id)


@dataset_app.command("publish")
@friendly
def dataset_publish(dataset_id: str) -> None:
    """Publish a draft dataset."""
    with operator_session() as (session, _):
        dataset = ds.publish_dataset(session, OPERATOR, dataset_id)
    out.print(f"{dataset.id} is {dataset.status}")


@dataset_app.command("retire")
@friendly
def dataset_retire(dataset_id: str) -> None:
    """Retire a dataset."""
    with operator_session() as (session, _):
        dataset = ds.retire_dataset(session, OPERATOR, dataset_id)
    out.print(f"{dataset.id} is {dataset.status}")


@dataset_app.command("list")
@friendly
def dataset_list(as_json: JsonOpt = False, q: str = "", limit: int = 100) -> None:
    """List datasets (drafts included: the CLI acts as the operator)."""
    with operator_session() as (session, rt):
        result = search_datasets(session, OPERATOR, DatasetQuery(q=q, limit=limit))
        rows = [ds.dataset_public(d, [], rt.settings.public_base_url) for d in result.datasets]
    emit(rows, ["id", "title", "assembly", "security", "status", "organisation_id", "dac_id", "duo"], as_json,
         f"Datasets ({result.count})")


@dataset_app.command("show")
@friendly
def dataset_show(dataset_id: str, as_json: JsonOpt = False) -> None:
    """Show one dataset with its files and statistics."""
    with operator_session() as (session, rt):
        dataset = ds.get_dataset(session, OPERATOR, dataset_id)
        public = ds.dataset_public(dataset, ds.dataset_files(session, dataset.id), rt.settings.public_base_url)
    if as_json:
        print(public.model_dump_json(indent=2))
        return
    _show_dataset(public)


def _show_dataset(d: DatasetPublic) -> None:
    table = Table(show_header=False, title=f"{d.id}: {d.title}")
    table.add_column("field", style="bold")
    table.add_column("value")
    for label, value in (("status", f"{d.status} (version {d.version})"), ("assembly", d.assembly),
                         ("security", d.security), ("organisation", d.organisation_id), ("DAC", d.dac_id),
                         ("data use", ", ".join(d.duo)), ("diseases", ", ".join(d.disease_terms)),
                         ("keywords", ", ".join(d.keywords)), ("description", d.description)):
        table.add_row(label, cell(value))
    stats = d.statistics
    if stats:
        table.add_row("samples", str(stats.get("samples", 0)))
        table.add_row("variants", str(stats.get("variants", 0)))
        for key, label in (("per_chromosome", "per chromosome"), ("per_type", "per type")):
            if stats.get(key):
                table.add_row(label, ", ".join(f"{k}: {v}" for k, v in stats[key].items()))
    for f in d.files:
        table.add_row("file", f"{f.id} {f.name} ({f.size:,} bytes, sha256 {f.sha256[:12]}…)")
    out.print(table)



@app.command()
@friendly
def demo(examples: Annotated[Path | None, typer.Option(help="example data made by examples/make_example_data.py")]
         = None) -> None:
    """Set up the demo: a biobank, its DAC, example datasets (ingested) and users; safe to run again."""
    from access.checkpoints import node_signer
    from access.release.api import release_context
    from catalogue.models import Assembly
    from catalogue.services.reference_af import panel_summary
    from genomegate.demo import DEMO_FILES, DEMO_PANEL, DEMO_USERS, seed_demo, seed_participant
    from ingest.reference_af import load_reference_af
    from ingest.services import run_job, start_ingestion

    with operator_session() as (session, rt):
        result = seed_demo(session, OPERATOR)
        out.print(f"demo organisation {result.organisation}, DAC {result.dac}; "
                  f"{'created ' + ', '.join(result.created) if result.created else 'nothing new to create'}")
        for title, dataset_id in result.datasets.items():
            if examples is None or title not in DEMO_FILES:
                continue
            names, sheet, reference = DEMO_FILES[title]
            job = start_ingestion(session, OPERATOR, dataset_id, files=[examples / n for n in names],
                                  samples=examples / sheet if sheet else None,
                                  reference=examples / reference if reference else None)
            done = run_job(rt.engine, job.id, store_root=rt.settings.store_root)
            state = ("unchanged" if done.counts["files_unchanged"] == len(names)
                     else f"ingested {done.counts['variants_written']:,} variants")
            out.print(f"  {dataset_id}  {title}: {state}, {done.counts['dataset_variants']:,} variants in all")
        if examples is not None and not panel_summary(session).get(Assembly.GRCh38.value):
            count = load_reference_af(session, OPERATOR, [examples / n for n in DEMO_PANEL], assembly=Assembly.GRCh38)
            out.print(f"  reference panel (prices Beacon questions): {count:,} alleles of GRCh38")
        if examples is not None:
            for line in seed_participant(session, OPERATOR, result, key=rt.settings.participant_key,
                                         ctx=release_context(rt.settings), origin=rt.settings.public_base_url,
                                         signer=node_signer(rt.settings.data_dir)):
                out.print(f"  {line}", highlight=False)
    out.print(f"web interface: {rt.settings.public_base_url}/ (sign in as a demo user at /signin; the participant "
              "sees /my-data)")
    if rt.issuer is not None:
        out.print("demo users (tokens valid 8 h; send as 'Authorization: Bearer <token>'):")
        for label, subject in DEMO_USERS.items():
            out.print(f"  {label:<10} {subject}\n    {rt.issuer.issue(subject, email=subject)}", soft_wrap=True)

