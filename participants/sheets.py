"""Reading a link sheet (CSV or TSV: a sample id and a participant identifier per line); pure, no database."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from participants.errors import BadLinkSheet

__all__ = ["MAX_LINKS", "SAMPLE_COLUMNS", "PARTICIPANT_COLUMNS", "SheetRow", "parse_sheet"]

MAX_LINKS = 100_000
SAMPLE_COLUMNS = ("sample_id", "sample")
PARTICIPANT_COLUMNS = ("participant_id", "participant")
_MAX_SAMPLE, _MAX_IDENTIFIER = 200, 320


@dataclass(frozen=True, slots=True)
class SheetRow:
    sample_id: str
    identifier: str  # kept only long enough to hash it


def _column(header: list[str], names: tuple[str, ...]) -> int:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    raise BadLinkSheet(f"the header must name a column {' or '.join(names)} (it has {', '.join(header)[:200]})",
                       field="sheet")


def parse_sheet(content: bytes) -> list[SheetRow]:
    """The rows of a sheet; BadLinkSheet naming the line for anything else (never echoing an identifier)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadLinkSheet("the link sheet is not UTF-8 text", field="sheet") from None
    if "\x00" in text:
        raise BadLinkSheet("the link sheet holds a NUL character", field="sheet")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not lines:
        raise BadLinkSheet("the link sheet is empty: give a header and one line per sample", field="sheet")
    delimiter = "\t" if "\t" in lines[0] else ","
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
    header = next(reader)
    sample_at, person_at = _column(header, SAMPLE_COLUMNS), _column(header, PARTICIPANT_COLUMNS)
    rows: list[SheetRow] = []
    seen: set[str] = set()
    for number, fields in enumerate(reader, start=2):
        if len(rows) >= MAX_LINKS:
            raise BadLinkSheet(f"the link sheet has more than {MAX_LINKS:,} lines", field="sheet")
        if max(sample_at, person_at) >= len(fields):
            raise BadLinkSheet(f"line {number} has {len(fields)} columns, fewer than the header", field="sheet")
        sample, person = fields[sample_at].strip(), fields[person_at].strip()
        if not sample or not person:
            raise BadLinkSheet(f"line {number} lacks a sample id or a participant identifier", field="sheet")
        if len(sample) > _MAX_SAMPLE or len(person) > _MAX_IDENTIFIER:
            raise BadLinkSheet(f"line {number}: a sample id is at most {_MAX_SAMPLE} characters, an identifier at "
                               f"most {_MAX_IDENTIFIER}", field="sheet")
        if sample in seen:
            raise BadLinkSheet(f"line {number}: sample {sample[:50]} is listed twice", field="sheet")
        seen.add(sample)
        rows.append(SheetRow(sample, person))
    if not rows:
        raise BadLinkSheet("the link sheet has a header but no samples", field="sheet")
    return rows
