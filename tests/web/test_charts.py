"""The server-drawn SVG bar charts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from web.charts import bar_chart


def test_bars_are_scaled_to_the_largest_value_and_labelled() -> None:
    svg = str(bar_chart([("1", 50), ("2", 100), ("X", 0)], title="Per chromosome", description="1: 50, 2: 100"))
    root = ET.fromstring(svg)  # well-formed XML
    ns = {"s": "http://www.w3.org/2000/svg"}
    heights = [int(r.get("height", "-1")) for r in root.iterfind(".//s:rect", ns)]
    assert heights == [80, 160, 0]
    assert root.get("role") == "img" and root.find("s:title", ns) is not None
    assert re.findall(r'class="label">([^<]+)<', svg) == ["1", "2", "X"]


def test_labels_are_escaped() -> None:
    svg = str(bar_chart([("<b>", 1)], title="t & t", description="d"))
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "t &amp; t" in svg


def test_an_empty_chart_is_still_valid() -> None:
    ET.fromstring(str(bar_chart([], title="Nothing", description="no data")))
