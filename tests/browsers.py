"""Chromium for the end-to-end tests: Debian's Chromium driven by Playwright; skip (fail in CI) without them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI

__all__ = ["CHROMIUM", "need_browser"]

CHROMIUM = Path(os.environ.get("GENOMEGATE_TEST_CHROMIUM", "/usr/bin/chromium"))


def need_browser() -> Any:
    """Playwright's `sync_playwright`; skip (fail in CI) when it or Chromium is missing."""
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is absent (apt-get install chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "the playwright package is not installed (pip install -e '.[dev]')"
    if reason:
        if IN_CI:
            pytest.fail(f"{reason}; CI always has it")
        pytest.skip(reason)
    return sync_playwright
