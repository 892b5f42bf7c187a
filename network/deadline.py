"""The deadline a network query asks for (pure): `deadline=1.5`, `1.5s` or `500ms`, never more than the node's own."""

from __future__ import annotations

import math
import re
from urllib.parse import unquote_plus

from beacon.errors import InvalidParameter

__all__ = ["DEADLINE_PARAMETER", "MIN_DEADLINE", "parse_deadline", "without_deadline"]

DEADLINE_PARAMETER = "deadline"
MIN_DEADLINE = 0.01  # seconds: less leaves no time to ask anyone
_DEADLINE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s)?\s*$", re.IGNORECASE)


def parse_deadline(values: list[str], ceiling: float) -> float:
    """Seconds to wait for the nodes: the node's `ceiling` unless the request asks for less (more is capped)."""
    if not values:
        return ceiling
    if len(values) > 1:
        raise InvalidParameter(DEADLINE_PARAMETER, "takes one value")
    text = values[0]
    match = _DEADLINE.match(text) if len(text) <= 20 else None
    if match is None:
        raise InvalidParameter(DEADLINE_PARAMETER, "give seconds (1.5 or 1.5s) or milliseconds (500ms)")
    seconds = float(match.group(1)) / (1000 if (match.group(2) or "s").lower() == "ms" else 1)
    if not math.isfinite(seconds) or seconds < MIN_DEADLINE:
        raise InvalidParameter(DEADLINE_PARAMETER, f"must be at least {MIN_DEADLINE * 1000:.0f} ms")
    return min(seconds, ceiling)


def without_deadline(query: str) -> str:
    """The raw query string without the deadline parameter, the rest exactly as the caller encoded it."""
    if DEADLINE_PARAMETER not in query.lower():
        return query
    return "&".join(part for part in query.split("&")
                    if part and unquote_plus(part.partition("=")[0]).lower() != DEADLINE_PARAMETER)
