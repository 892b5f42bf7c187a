"""CLI commands of data release: `genomegate fetch` for researchers, `genomegate release ...` for operators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from genomegate.cli.common import OPERATOR, Exit, JsonOpt, app, err, friendly, operator_session, out

__all__ = ["encrypt_at_rest", "fetch"]

release_app = typer.Typer(help="Data release: files kept encrypted at rest.", no_args_is_help=True)
app.add_typer(release_app, name="release")


@app.command()
@friendly
def fetch(
    node: Annotated[str, typer.Argument(help="the node's base URL, e.g. https://genomegate.example.org")],
    dataset: Annotated[str, typer.Argument(help="dataset id, e.g. GGD000001")],
    out_file: Annotated[Path, typer.Option("--out", help="where to write the VCF.gz or BCF")],
    file: Annotated[str | None, typer.Option("--file", help="one file of the dataset, when it has several")] = None,
    region: Annotated[str | None, typer.Option(help="chr1, chr1:1-100000 or chr1:5000- (1-based, inclusive); "
                                               "default: the whole file")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="VCF or BCF (default: BCF for an --out ending in "
                                            ".bcf, else VCF)")] = None,
    token: Annotated[str | None, typer.Option(help="bearer token (prefer --token-file: argv is visible to others)",
                                              envvar="GENOMEGATE_TOKEN", show_envvar=True)] = None,
    token_file: Annotated[Path | None, typer.Option(help="a file holding the bearer token")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Get a dataset, or a region of it, from a node over htsget with your token (no database needed).

    Data travels over HTTPS in the clear to you; for a whole file encrypted to your key, download
    /api/release/{dataset}/files/{file}?encryption=crypt4gh and run `crypt4gh decrypt --sk your.sec`.
    """
    from access.release.client import FetchError
    from access.release.client import fetch as fetch_file

    if (token is None) == (token_file is None):
        raise Exit("give exactly one of --token (or GENOMEGATE_TOKEN) and --token-file")
    bearer = token if token is not None else _read_token(token_file)
    chosen = (fmt or ("BCF" if out_file.suffix.lower() == ".bcf" else "VCF")).upper()
    if chosen not in ("VCF", "BCF"):
        raise Exit(f"--format {fmt!r}: use VCF or BCF")
    try:
        got = fetch_file(node, dataset, token=bearer, out=out_file, file_id=file, region=region, fmt=chosen)
    except FetchError as exc:
        raise Exit(str(exc)) from None
    if as_json:
        print(json.dumps({"path": str(got.path), "bytes": got.size, "sha256": got.sha256, "urls": got.urls}))
        return
    out.print(f"{got.path}: {got.size:,} bytes, sha256 {got.sha256}", highlight=False)


def _read_token(path: Path | None) -> str:
    assert path is not None
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise Exit(f"--token-file {path}: {exc.strerror}") from None
    if not text:
        raise Exit(f"--token-file {path} is empty")
    return text


@release_app.command("encrypt-at-rest")
@friendly
def encrypt_at_rest(
    dataset: Annotated[str, typer.Argument(help="dataset id, e.g. GGD000001")],
    as_json: JsonOpt = False,
) -> None:
    """Keep a Crypt4GH copy (FILE.c4gh, to the node key) beside each stored file of a dataset.

    Crypt4GH downloads of such a file then re-encrypt only its header to the researcher's key. The plain file
    stays: htsget slices regions out of it. Creates the node key on first use; safe to run again.
    """
    from access.release.at_rest import default_node_key_path
    from access.release.downloads import encrypt_dataset_at_rest

    with operator_session() as (session, rt):
        settings = rt.settings
        node_key = settings.release_node_key or default_node_key_path(settings.data_dir)
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
        with Progress(*columns, console=err, transient=True, disable=as_json) as bar:
            task = bar.add_task(f"encrypting {dataset} at rest", total=None)
            copies = encrypt_dataset_at_rest(session, OPERATOR, dataset_id=dataset, node_key_path=node_key,
                                             progress=lambda n: bar.advance(task, n))
    if as_json:
        print(json.dumps([{"file": c.file_id, "path": str(c.path), "bytes": c.plain_size, "written": c.written}
                          for c in copies], indent=2))
        return
    for copy in copies:
        state = "written" if copy.written else "already there"
        out.print(f"{copy.file_id}: {copy.path} ({copy.plain_size:,} bytes, {state})", highlight=False)
    out.print(f"{len(copies)} file(s) of {dataset} kept encrypted at rest to the node key {node_key}",
              highlight=False)
