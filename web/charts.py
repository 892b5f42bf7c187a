"""Bar charts as inline SVG, drawn on the server: no script, nothing fetched, readable without colour."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

__all__ = ["bar_chart"]

_BAR, _GAP, _LABEL, _HEIGHT, _TOP = 28, 8, 22, 160, 18


def bar_chart(bars: Sequence[tuple[str, int]], *, title: str, description: str) -> Markup:
    """Vertical bars, one per (label, value), each with its value printed above it; an accessible <svg> with
    a title and description."""
    peak = max((v for _, v in bars), default=0) or 1
    width = max(len(bars), 1) * (_BAR + _GAP) + _GAP
    height = _TOP + _HEIGHT + _LABEL
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'aria-labelledby="{_id(title)}-t {_id(title)}-d" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{_id(title)}-t">{escape(title)}</title>',
             f'<desc id="{_id(title)}-d">{escape(description)}</desc>',
             f'<line x1="0" y1="{_TOP + _HEIGHT}" x2="{width}" y2="{_TOP + _HEIGHT}" class="axis"/>']
    for i, (label, value) in enumerate(bars):
        x = _GAP + i * (_BAR + _GAP)
        h = round(_HEIGHT * value / peak)
        y = _TOP + _HEIGHT - h
        parts.append(f'<g><rect x="{x}" y="{y}" width="{_BAR}" height="{h}" class="bar">'
                     f'<title>{escape(label)}: {value:,}</title></rect>'
                     f'<text x="{x + _BAR / 2}" y="{y - 4}" class="value">{_short(value)}</text>'
                     f'<text x="{x + _BAR / 2}" y="{_TOP + _HEIGHT + 15}" class="label">{escape(label)}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _id(title: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in title.lower())


def _short(value: int) -> str:
    return f"{value / 1000:.1f}k" if value >= 10_000 else str(value)
