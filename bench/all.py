"""`make bench`: every benchmark but the ten-minute soak and the valgrind count (bench.instructions,
a quarter of an hour), one after another, each in its own process (so one benchmark's pinning or
threads never leak into the next). Flags are passed on to each."""

from __future__ import annotations

import subprocess
import sys

from dashboard.files import PROJECT_ROOT

BENCHMARKS = (
    "agent_overhead",
    "in_process",
    "collector_ingest",
    "signing",
    "loadgen_ceiling",
    "viewers",
    "tile_latency",
    "report_open",
    "first_flush",
    "first_state",
    "frame_budget",
    "cpu_shares",
    "modes",
)


def main(argv: list[str] | None = None) -> int:
    flags = sys.argv[1:] if argv is None else argv
    failed = []
    for name in BENCHMARKS:
        print(f"== bench.{name}", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{name}", *flags], cwd=PROJECT_ROOT).returncode:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
