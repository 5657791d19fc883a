"""Each benchmark's smoke variant (`--quick`) runs and prints a well-formed table.

Never a speed: these shared machines drift too much for that; the figures live in
docs/benchmarks.md, written by full runs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from bench.all import BENCHMARKS
from tests.support import ROOT

pytestmark = pytest.mark.integration


def _needs(name: str) -> None:
    if name in ("agent_overhead", "loadgen_ceiling") and shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install -y wrk)")
    if name == "tile_latency" and not shutil.which("/usr/bin/chromium"):
        pytest.skip("Chromium is not installed")


@pytest.mark.parametrize("name", [*BENCHMARKS, "soak"])
def test_quick_variant_prints_a_table(name):
    """A table header, its rule and at least one row of figures, and docs/benchmarks.md untouched."""
    _needs(name)
    doc = ROOT / "docs" / "benchmarks.md"
    before = doc.read_bytes() if doc.exists() else None
    out = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line for line in out.stdout.splitlines() if line.startswith("|")]
    assert len(lines) >= 3, out.stdout
    columns = lines[0].count("|")
    assert set(lines[1].replace(" ", "")) <= {"|", "-"}, lines[1]
    assert all(line.count("|") == columns for line in lines), lines
    assert (doc.read_bytes() if doc.exists() else None) == before
