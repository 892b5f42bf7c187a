"""htsget requests and tickets as plain data: parsing and checking a query, planning a ticket's parts, its JSON."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from access.release.bgzf import EOF_BLOCK
from access.release.errors import InvalidRange, UnsupportedFormat
from catalogue.assemblies import canonical_contig
from catalogue.errors import InvalidInput, NotFound
from catalogue.limits import excerpt

__all__ = [
    "FORMATS",
    "MAX_POSITION",
    "MAX_REGIONS",
    "Part",
    "Region",
    "TicketQuery",
    "block_path",
    "parse_query",
    "plan_parts",
    "resolve_contig",
    "ticket_json",
]

FORMATS = ("VCF", "BCF")
MAX_POSITION = 2**31 - 1  # BCF positions are signed 32-bit
_UINT32 = 2**32 - 1
MAX_REGIONS = 100  # regions of one ticket


@dataclass(frozen=True, slots=True)
class Region:
    """One requested region: a reference name and an optional 0-based, half-open range."""

    reference_name: str
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True, slots=True)
class TicketQuery:
    """A checked htsget request: no regions means the whole file."""

    format: str = "VCF"
    header_only: bool = False
    regions: tuple[Region, ...] = ()
    ignored: tuple[str, ...] = field(default=())  # fields/tags/notags: reads-only hints, returning more is allowed


@dataclass(frozen=True, slots=True)
class Part:
    """One URL of a ticket: the header, a region's body (in the file's own contig naming), or a byte range."""

    part: str  # "header" | "body" | "file"
    contig: str | None = None
    start: int | None = None
    end: int | None = None
    byte_range: tuple[int, int] | None = None  # inclusive, for "file"
    convert: str | None = None  # the format a header or body is converted to, when not the file's own

    @property
    def region_text(self) -> str | None:
        return None if self.contig is None else f"{self.contig}:{self.start}-{self.end}"


def _int(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{name} must be an unsigned integer", field=name)
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(1e400), an infinite JSON number
        raise InvalidInput(f"{name} must be an unsigned integer, not {excerpt(value)}", field=name) from None
    if number < 0 or number > _UINT32:
        raise InvalidInput(f"{name} must be an unsigned 32-bit integer", field=name)
    return number


def _list(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in value.split(",") if v]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InvalidInput(f"{name} must be a comma-separated list or a list of strings", field=name)


def _region(reference_name: Any, start: Any, end: Any) -> Region | None:
    first, last = _int("start", start), _int("end", end)
    if reference_name in (None, ""):
        if first is not None or last is not None:
            raise InvalidInput("start and end need a referenceName", field="referenceName")
        return None
    if not isinstance(reference_name, str):
        raise InvalidInput("referenceName must be a string", field="referenceName")
    if reference_name == "*":
        raise InvalidInput("referenceName '*' (unplaced reads) does not apply to variants", field="referenceName")
    if first is not None and last is not None and first > last:
        raise InvalidRange(f"start ({first}) is greater than end ({last})", field="start")
    return Region(reference_name, first, last)


def parse_query(params: Mapping[str, Any], *, regions: Sequence[Mapping[str, Any]] | None = None) -> TicketQuery:
    """Check an htsget variants request: GET query parameters, or a POST body (`params`) with its regions list."""
    fmt = params.get("format") or "VCF"
    if not isinstance(fmt, str) or fmt.upper() not in FORMATS:
        raise UnsupportedFormat(f"format {excerpt(fmt)} is not served for variants; use VCF or BCF", field="format")
    klass = params.get("class")
    if klass not in (None, "", "header"):
        raise InvalidInput(f"class {excerpt(klass)} is not known; the only class to ask for is 'header'", field="class")
    tags, notags = _list("tags", params.get("tags")), _list("notags", params.get("notags"))
    if set(tags) & set(notags):
        raise InvalidInput("tags and notags must not share a tag", field="tags")
    ignored = tuple(k for k in ("fields", "tags", "notags") if params.get(k) is not None)
    if regions is None:
        single = _region(params.get("referenceName"), params.get("start"), params.get("end"))
        found: tuple[Region, ...] = (single,) if single else ()
    else:
        if not isinstance(regions, list):
            raise InvalidInput("regions must be a list of {referenceName, start, end}", field="regions")
        if len(regions) > MAX_REGIONS:
            raise InvalidInput(f"regions has {len(regions):,} items; ask for at most {MAX_REGIONS} in one ticket",
                               field="regions")
        parsed = []
        for item in regions:
            if not isinstance(item, Mapping) or not item.get("referenceName"):
                raise InvalidInput("each region needs a referenceName", field="regions")
            region = _region(item.get("referenceName"), item.get("start"), item.get("end"))
            assert region is not None
            parsed.append(region)
        found = tuple(parsed)
    return TicketQuery(format=fmt.upper(), header_only=klass == "header", regions=found, ignored=ignored)


def resolve_contig(reference_name: str, file_contigs: Sequence[str], assembly: str) -> str | None:
    """The file's name for a requested reference ("chr1" or "1" alike); None for a chromosome the file lacks.

    NotFound when the name is neither a contig of the file nor a chromosome of the assembly.
    """
    if reference_name in file_contigs:
        return reference_name
    wanted = canonical_contig(reference_name, assembly)
    if wanted is None:
        raise NotFound(f"referenceName {excerpt(reference_name)} is not a reference of this file",
                       field="referenceName")
    for contig in file_contigs:
        if canonical_contig(contig, assembly) == wanted:
            return contig
    return None


def plan_parts(query: TicketQuery, *, stored: str, file_contigs: Sequence[str], assembly: str, size: int,
               block_bytes: int) -> list[Part]:
    """The parts of a ticket, in order (the EOF marker follows them, inline).

    A file of the format asked is served as stored: the whole file in byte ranges, or a region's records as
    they are. A file of the other format is converted: its header, then one body per region or, for the whole
    file, per contig of `file_contigs` (then those holding records, in file order).
    """
    convert = None if query.format == stored else query.format
    if query.header_only:
        return [Part("header", convert=convert)]
    if not query.regions and convert is None:
        return [Part("file", byte_range=(lo, min(lo + block_bytes, size) - 1)) for lo in range(0, size, block_bytes)]
    parts = [Part("header", convert=convert)]
    if not query.regions:
        return parts + [Part("body", contig, 0, MAX_POSITION, convert=convert) for contig in file_contigs]
    for region in query.regions:
        contig = resolve_contig(region.reference_name, file_contigs, assembly)
        if contig is None:
            continue  # a chromosome this file holds no records of: nothing to add
        start = region.start or 0
        end = MAX_POSITION if region.end is None else min(region.end, MAX_POSITION)
        if start < end:
            parts.append(Part("body", contig, start, end, convert=convert))
    return parts


def block_path(dataset_id: str, file_id: str, part: Part) -> str:
    """Path and query of a part's block URL (the token travels in the Authorization header)."""
    path = f"/htsget/blocks/{dataset_id}/{file_id}/{part.part}"
    query: dict[str, str | int | None] = {}
    if part.part == "body":
        query.update(referenceName=part.contig, start=part.start, end=part.end)
    if part.convert is not None:
        query["format"] = part.convert
    return path + ("?" + urlencode(query) if query else "")


def ticket_json(fmt: str, parts: Sequence[Part], url_for: Callable[[Part], tuple[str, str]]) -> dict[str, Any]:
    """The htsget ticket: each part's URL with its bearer token, then (unless whole-file) the EOF marker inline.

    `url_for(part)` gives (absolute URL, block token).
    """
    urls: list[dict[str, Any]] = []
    whole_file = bool(parts) and all(p.part == "file" for p in parts)
    for part in parts:
        url, token = url_for(part)
        headers = {"Authorization": f"Bearer {token}"}
        entry: dict[str, Any] = {"url": url, "headers": headers}
        if part.byte_range is not None:
            headers["Range"] = f"bytes={part.byte_range[0]}-{part.byte_range[1]}"
        if not whole_file:
            entry["class"] = part.part
        urls.append(entry)
    if not whole_file:  # a header-only ticket too, so that what it gives is a file htslib opens
        header_only = all(p.part == "header" for p in parts)
        urls.append({"url": "data:application/octet-stream;base64," + base64.b64encode(EOF_BLOCK).decode(),
                     "class": "header" if header_only else "body"})
    return {"htsget": {"format": fmt, "urls": urls}}
