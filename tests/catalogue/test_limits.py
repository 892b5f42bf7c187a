"""The door's pure checks: JSON nesting found without parsing, NUL and lone surrogate escapes, excerpts of input."""

from __future__ import annotations

import json
import time

import pytest

from catalogue.limits import excerpt, excerpt_text, json_depth, json_problem


@pytest.mark.parametrize("document", [
    0, "text", [], {}, [[[]]], {"a": [{"b": [1, {"c": []}]}]}, ["[[[[", "]]", "\"{"], {"k[": "v{{", "\\": ["\\\"["]},
])
def test_json_depth_agrees_with_the_parsed_document(document: object) -> None:
    def depth(value: object) -> int:
        if isinstance(value, list):
            return 1 + max((depth(v) for v in value), default=0)
        if isinstance(value, dict):
            return 1 + max((depth(v) for v in value.values()), default=0)
        return 0

    assert json_depth(json.dumps(document).encode()) == depth(document)


@pytest.mark.parametrize(("body", "found"), [
    (b'{"a": "\\u0000"}', "a NUL character (\\u0000) at byte 7"),
    (b'["\\ud800"]', "a lone surrogate (\\ud800) at byte 2"),
    (b'["\\ud800\\u0041"]', "a lone surrogate (\\ud800)"),
    (b'["\\udc00"]', "a lone surrogate (\\udc00)"),
    (b'["x\\\\\\u0000"]', "a NUL character"),  # an escaped backslash, then a real \u0000
    (b'["\xff"]', "not UTF-8 (byte 2 is invalid)"),
    (b"[" * 33 + b"]" * 33, "nested more than 32 levels deep"),
])
def test_json_problem_names_what_is_wrong_and_where(body: bytes, found: str) -> None:
    problem = json_problem(body, 32)
    assert problem is not None and found in problem


@pytest.mark.parametrize("body", [
    b'{"a": "\\\\u0000"}',  # the text \u0000: a backslash, then "u0000"
    b'["\\ud83e\\uddec"]',  # a surrogate pair: one character
    b"[" * 32 + b"]" * 32,
    b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}',  # brackets inside a string do not nest
    b"",
])
def test_json_problem_passes_what_json_and_text_can_hold(body: bytes) -> None:
    assert json_problem(body, 32) is None


def test_json_checks_of_a_megabyte_are_quick() -> None:
    nested, escapes = b"[" * (1 << 19) + b"]" * (1 << 19), b'["' + b"\\ud83e\\uddec" * 80_000 + b'"]'
    started = time.perf_counter()
    assert json_problem(nested, 32) is not None and json_problem(escapes, 32) is None
    assert time.perf_counter() - started < 1.0


def test_excerpts_are_short_however_large_the_input() -> None:
    huge = list(range(8_000_000))
    started = time.perf_counter()
    assert excerpt(huge) == "[0, 1, 2, 3, ...]"
    assert time.perf_counter() - started < 0.01
    assert len(excerpt("x" * 1_000_000)) <= 63
    assert excerpt("short") == "'short'"
    assert excerpt_text("y" * 100, 10) == "yyyyyyyyyy... (90 more characters)"
