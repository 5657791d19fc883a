"""Each benchmark's smoke variant (`--quick`) runs and prints a well-formed table.

Never a speed: these shared machines drift too much for that; the figures live in
docs/benchmarks.md, written by full runs.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from bench.all import BENCHMARKS
from tests.support import ROOT

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", [*BENCHMARKS, "soak", "viewers --processes 1", "in_process --against ."])
def test_quick_variant_prints_a_table(name):
    """Tables, each a header, its rule and at least one row of figures; docs/benchmarks.md untouched."""
    doc = ROOT / "docs" / "benchmarks.md"
    before = doc.read_bytes() if doc.exists() else None
    module, *flags = name.split()
    out = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *flags, "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    tables = [t.split("\n") for t in re.findall(r"^\|.*(?:\n\|.*)*", out.stdout, re.M)]
    assert tables and all(len(lines) >= 3 for lines in tables), out.stdout
    for lines in tables:
        columns = lines[0].count("|")
        assert set(lines[1].replace(" ", "")) <= {"|", "-"}, lines[1]
        assert all(line.count("|") == columns for line in lines), lines
    assert (doc.read_bytes() if doc.exists() else None) == before


def test_a_benchmark_rewrites_its_block_and_leaves_the_hand_written_text(tmp_path):
    """bench.modes wrote the whole of docs/modes.md from a template, so each run dropped the
    sections written by hand since (Granian, the free-threaded build, mod_wsgi)."""
    from bench.common import replace_block

    page = tmp_path / "modes.md"
    around = "# Title\n\n<!-- bench:modes -->\n{}<!-- /bench:modes -->\n\nHand-written.\n"
    page.write_text(around.format("old table\n"))
    replace_block(page, "modes", "new table\n")
    assert page.read_text() == around.format("new table\n")
