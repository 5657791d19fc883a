"""A room opening at once: N viewers open Socket.IO on one dashboard in the same instant (a talk's
QR code scanned by the whole room), and each one's time until its first state (the snapshot).

The viewers are bench/viewer.py's lean clients, all on this process's one asyncio loop, started
together with no gate; each is timed from that common start to its snapshot's arrival. Issue 22:
keep p95 ≤ 2 s at 1,000 viewers. `--against DIR` measures another checkout beside this one.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from bench.common import checkouts, interleaved, median, parser, percentile, report, run_py_of, table
from bench.viewer import Viewer
from tests.support import Dashboard

TARGET_P95_S = 2.0
JOIN_DEADLINE_S = 30.0


class TimedViewer(Viewer):
    """A viewer that notes when its first state came."""

    first_state_ns: int | None = None

    def _handle(self, message: bytes, arrived_ns: int) -> None:
        if self.first_state_ns is None and message.startswith(b'42["snapshot"'):
            self.first_state_ns = arrived_ns
        super()._handle(message, arrived_ns)


async def _room(port: int, count: int) -> list[float]:
    """Seconds from the common start to each viewer's first state (inf: none within the deadline)."""
    viewers = [TimedViewer() for _ in range(count)]
    started = time.monotonic_ns()

    async def join(viewer: TimedViewer) -> None:
        try:
            await viewer.connect("127.0.0.1", port)
            await viewer.run()
        except (OSError, ConnectionError):
            pass

    readers = [asyncio.create_task(join(v)) for v in viewers]
    deadline = time.monotonic() + JOIN_DEADLINE_S
    while any(v.first_state_ns is None for v in viewers) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for viewer in viewers:
        viewer.close()
    await asyncio.gather(*readers, return_exceptions=True)
    return [(v.first_state_ns - started) / 1e9 if v.first_state_ns else float("inf") for v in viewers]


def measure(count: int, tree: Path | None) -> list[float]:
    """One dashboard (this checkout's, or the one in `tree`) and one room opening at once."""
    dash = Dashboard(**run_py_of(tree))
    try:
        dash.wait_serving()
        dash.wait_processes(2)
        return asyncio.run(_room(dash.port, count))
    finally:
        dash.stop_leaving_nothing(15)


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--viewers", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=2, help="dashboards per tree, interleaved")
    p.add_argument("--against", type=Path, help="another checkout, measured beside this one")
    args = p.parse_args(argv)
    count, rounds = (50, 1) if args.quick else (args.viewers, args.rounds)
    load = os.getloadavg()[0]
    trees = checkouts(args.against)
    runs = interleaved(rounds, {name: (lambda t=tree: measure(count, t)) for name, tree in trees.items()})
    rows = []
    for name, results in runs.items():
        times = [s for result in results for s in result]
        reached = [s for s in times if s != float("inf")]
        p95 = percentile(times, 95)
        rows.append(
            [name, f"{len(reached)} / {len(times)}", median(times), p95, max(reached, default=float("nan")),
             "met" if p95 <= TARGET_P95_S else "NOT met"]
        )  # fmt: skip
    body = (
        table(["tree", "got a state", "p50 s", "p95 s", "max s", f"p95 ≤ {TARGET_P95_S:g} s"], rows)
        + f"\n\n{count} viewers (bench/viewer.py, one asyncio loop in the bench's process) open Socket.IO "
        "on one dashboard (`run.py`, default gevent worker, default workload) at the same instant, "
        "no gate; each timed from that instant to its snapshot's arrival (a viewer with none within "
        f"{JOIN_DEADLINE_S:g} s counts as never). {rounds} dashboard(s) per tree, rounds interleaved; "
        f"load average (1 min) {load:.1f} at the start."
    )
    report("first_state", "A room opening at once: each viewer's first state", body, argv, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
