"""The `genomegate` command: operators and labs run the same services the HTTP API calls."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from genomegate.cli import (  # noqa: F401 (they register)
    access_commands,
    catalogue_commands,
    ingest_commands,
    jobs_commands,
    network_commands,
    opt_out_commands,
    participants_commands,
    privacy_commands,
    release_commands,
    witness_commands,
)
from genomegate.cli.common import app

__all__ = ["app", "main"]


def main(argv: Sequence[str] | None = None) -> None:
    app(args=list(argv) if argv is not None else sys.argv[1:], prog_name="genomegate")
