"""Shared parts of the CLI: the Typer apps, operator sessions, output for people and scripts, one-line errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from catalogue.database import session_scope
from catalogue.errors import DomainError
from catalogue.identity import Caller
from catalogue.runtime import Runtime, build_runtime
from catalogue.settings import SettingsError, load_settings
from genomegate.schema import schema_status

__all__ = ["JsonOpt", "OPERATOR", "app", "cell", "emit", "err", "friendly", "operator_session", "out", "runtime"]


app = typer.Typer(help="GenomeGate: genomic data catalogue, Beacon v2 and access requests.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
auth_app = typer.Typer(help="Tokens from the built-in issuer.", no_args_is_help=True)
admin_app = typer.Typer(help="Roles: admin, steward, dac-member.", no_args_is_help=True)
org_app = typer.Typer(help="Organisations (labs, biobanks).", no_args_is_help=True)
dac_app = typer.Typer(help="Data access committees.", no_args_is_help=True)
dataset_app = typer.Typer(help="Datasets in the catalogue.", no_args_is_help=True)
for sub, name in ((db_app, "db"), (auth_app, "auth"), (admin_app, "admin"), (org_app, "org"),
                  (dac_app, "dac"), (dataset_app, "dataset")):
    app.add_typer(sub, name=name)

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
OPERATOR = Caller.cli_operator()
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]

P = ParamSpec("P")
R = TypeVar("R")


class Exit(Exception):
    """A CLI failure already explained to the user; carries the exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def friendly(func: Callable[P, R]) -> Callable[P, R]:
    """Report domain and settings errors as one line on stderr with a non-zero exit, never a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            where = f" ({exc.field})" if exc.field else ""
            err.print(f"[red]error{where}:[/red] {exc.message}", highlight=False)
            raise typer.Exit(1) from None
        except SettingsError as exc:
            for line in str(exc).splitlines():
                err.print(f"[red]configuration:[/red] {line}", highlight=False)
            raise typer.Exit(2) from None
        except Exit as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(exc.code) from None

    return wrapper


def runtime() -> Runtime:
    return build_runtime(load_settings())


@contextmanager
def operator_session() -> Iterator[tuple[Session, Runtime]]:
    """A session on a database whose schema is current (refusing otherwise, with what to run)."""
    rt = runtime()
    status = schema_status(rt.engine)
    if not status.is_current:
        raise Exit(f"the database schema is at {status.current or 'nothing'}, the code needs {status.head}: "
                   "run `genomegate db upgrade`")
    with session_scope(rt.engine) as session:
        yield session, rt
    rt.engine.dispose()


def emit(rows: Sequence[Any], columns: Sequence[str], as_json: bool, title: str | None = None) -> None:
    """Print models as a table for people, or as JSON for scripts."""
    dumped = [r.model_dump(mode="json") for r in rows]
    if as_json:
        print(json.dumps(dumped, indent=2))
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column, no_wrap=column == "id")
    for row in dumped:
        table.add_row(*(cell(row.get(c)) for c in columns))
    out.print(table)


def cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


# --- serve and db ------------------------------------------------------------------------------------
