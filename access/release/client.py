"""A researcher's htsget client: ask a node for a ticket, follow its URLs with their headers, write the file."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import httpx

__all__ = ["FetchError", "Fetched", "fetch", "parse_region"]

_REGION = re.compile(r"^(?P<contig>[^:]+)(?::(?P<start>[\d,]+)(?P<dash>-)?(?P<end>[\d,]*))?$")


class FetchError(Exception):
    """The node refused or failed (its htsget error is in the message), or the region is malformed. Fix and rerun."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """What was written: the file, its size and sha256, and how many ticket URLs made it."""

    path: Path
    size: int
    sha256: str
    urls: int


def parse_region(text: str) -> tuple[str, int | None, int | None]:
    """`chr1`, `chr1:1000-2000`, `chr1:1000-` or `chr1:1000` (1-based, inclusive, as bcftools reads them) as
    htsget's (referenceName, start, end): 0-based, half-open."""
    match = _REGION.match(text.strip())
    if match is None:
        raise FetchError(f"region {text!r} is not chr, chr:start-end, chr:start- or chr:pos")
    contig, first, last = match["contig"], match["start"], match["end"]
    if first is None:
        return contig, None, None
    start = int(first.replace(",", ""))
    if start < 1:
        raise FetchError(f"region {text!r}: positions start at 1")
    if not match["dash"]:
        return contig, start - 1, start  # a single position, as bcftools -r reads chr:pos
    end = int(last.replace(",", "")) if last else None
    if end is not None and end < start:
        raise FetchError(f"region {text!r}: the end is before the start")
    return contig, start - 1, end


def _failure(response: httpx.Response, what: str) -> FetchError:
    try:
        error = response.json()["htsget"]
        return FetchError(f"{error['error']} ({response.status_code}) on {what}: {error['message']}")
    except (ValueError, KeyError, TypeError):
        pass
    try:
        detail = response.json().get("detail")  # problem+json from the rest of the API
    except (ValueError, AttributeError):
        detail = None
    reason = detail if isinstance(detail, str) else response.reason_phrase
    return FetchError(f"HTTP {response.status_code} on {what}: {reason}")


def _data_uri(url: str) -> bytes:
    meta, _, data = url.removeprefix("data:").partition(",")
    return base64.b64decode(data) if meta.endswith(";base64") else unquote_to_bytes(data)


def _ticket(client: httpx.Client, url: str, token: str, params: dict[str, Any],
            passport: Sequence[str] = ()) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    if passport:  # GA4GH visas granting the dataset (e.g. from the DAC at another node)
        headers["X-GA4GH-Passport"] = ",".join(passport)
    response = client.get(url, params={k: v for k, v in params.items() if v is not None}, headers=headers)
    if response.status_code != 200:
        raise _failure(response, "the ticket")
    try:
        urls = response.json()["htsget"]["urls"]
    except (ValueError, KeyError, TypeError):
        raise FetchError(f"the node at {url} did not answer with an htsget ticket") from None
    if not isinstance(urls, list) or not all(isinstance(u, dict) and isinstance(u.get("url"), str) for u in urls):
        raise FetchError("the ticket's urls are malformed")
    return urls


def fetch(node: str, dataset_id: str, *, token: str, out: Path, file_id: str | None = None,
          region: str | None = None, fmt: str = "VCF", client: httpx.Client | None = None,
          timeout: float = 60.0, passport: Sequence[str] = ()) -> Fetched:
    """Get a dataset (or one of its files), whole or a region of it, from the node at `node` into `out`.

    Asks `/htsget/variants/{dataset}[/{file}]` for a ticket with the bearer `token` (and the `passport`'s visas, if
    any), then follows each URL with the headers the ticket gives it (the inline `data:` end-of-file block
    included), streaming into a temporary file renamed to `out` once complete. FetchError, and `out` left
    untouched, when anything is refused.
    """
    path = f"/htsget/variants/{quote(dataset_id, safe='')}" + (f"/{quote(file_id, safe='')}" if file_id else "")
    params: dict[str, Any] = {"format": fmt.upper()}
    if region is not None:
        params["referenceName"], params["start"], params["end"] = parse_region(region)
    own = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=True)
    temp = out.with_name(f".{out.name}.{os.getpid()}.part")
    digest, size = hashlib.sha256(), 0
    try:
        urls = _ticket(http, node.rstrip("/") + path, token, params, passport)
        with temp.open("wb") as sink:
            for number, entry in enumerate(urls, 1):
                url = entry["url"]
                if url.startswith("data:"):
                    inline = _data_uri(url)
                    size += sink.write(inline)
                    digest.update(inline)
                    continue
                with http.stream("GET", url, headers=entry.get("headers") or {}) as response:
                    if response.status_code not in (200, 206):
                        response.read()
                        raise _failure(response, f"block {number} of {len(urls)}")
                    for chunk in response.iter_bytes(1 << 20):
                        size += sink.write(chunk)
                        digest.update(chunk)
        os.replace(temp, out)
    except httpx.HTTPError as exc:
        raise FetchError(f"{type(exc).__name__} talking to {node}: {exc}") from None
    finally:
        temp.unlink(missing_ok=True)
        if own:
            http.close()
    return Fetched(out, size, digest.hexdigest(), len(urls))
