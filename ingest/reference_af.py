"""A public reference panel (a sites VCF with INFO AC/AN, or genotypes) read into the catalogue's allele table."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from catalogue.errors import InvalidInput
from catalogue.identity import Caller
from catalogue.models import Assembly
from catalogue.services.reference_af import replace_reference_alleles
from ingest.reader import read_variants

__all__ = ["load_reference_af"]


def load_reference_af(session: Session, caller: Caller,
                      paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *, assembly: Assembly,
                      pass_only: bool = True, progress: Callable[[int], None] | None = None) -> int:
    """Replace the assembly's reference panel with the alleles of `paths` (files of different chromosomes, e.g.
    one per chromosome); returns how many alleles the panel holds.

    The file is read and normalised exactly as ingest reads a dataset (multi-allelics split, alleles trimmed,
    contigs canonicalised and checked against the assembly), so a panel allele and an indexed one meet on
    the same key. Records failing FILTER are left out with `pass_only` (their alleles then count as
    unknown: the Beacon never answers about them without record-level rights). Nothing changes on an error.
    """
    files = [paths] if isinstance(paths, str | os.PathLike) else list(paths)

    def batches() -> Iterator[list[Mapping[str, Any]]]:
        done = 0
        for path in files:
            reader = read_variants(path, assembly=assembly.value, pass_only=pass_only, batch_size=20_000)
            for batch in reader:
                yield [{"chrom": r.chrom, "pos": r.pos, "ref": r.ref, "alt": r.alt, "end": r.end,
                        "variant_type": r.variant_type, "length": r.length, "ac": r.ac, "an": r.an} for r in batch]
                if progress is not None:
                    progress(done + reader.summary.records_read)
            done += reader.summary.records_read

    try:
        return replace_reference_alleles(session, caller, assembly, batches())
    except IntegrityError:
        session.rollback()
        raise InvalidInput("an allele appears in two of the panel's files: give each chromosome once",
                           field="paths") from None
    except BaseException:
        session.rollback()
        raise
