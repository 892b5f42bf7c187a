"""External tools the ingest tests use as oracles: skip without them, fail without them on CI."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

__all__ = ["bcftools", "require"]

_PLUGIN_DIRS = ("/usr/lib/x86_64-linux-gnu/bcftools", "/usr/libexec/bcftools", "/usr/local/libexec/bcftools")


def require(tool: str) -> str:
    """Path of `tool`; skip the test when it is missing, or fail when CI=true."""
    path = shutil.which(tool)
    if path is None:
        reason = f"{tool} is not installed; the ingest oracle tests need it (apt-get install {tool})"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def bcftools(*args: str | Path) -> str:
    """Run bcftools with the plugin directory set; return stdout, failing the test on errors."""
    exe = require("bcftools")
    env = dict(os.environ)
    if "BCFTOOLS_PLUGINS" not in env:
        env["BCFTOOLS_PLUGINS"] = ":".join(d for d in _PLUGIN_DIRS if Path(d).is_dir())
    result = subprocess.run([exe, *map(str, args)], capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        pytest.fail(f"bcftools {' '.join(map(str, args))} failed: {result.stderr.strip()}")
    return result.stdout
