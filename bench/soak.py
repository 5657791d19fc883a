"""Ten minutes of steady load: does memory stay flat in the dashboard and in the agent?

The dashboard runs its default workload with a viewer connected, while the project's sustained
generator keeps /hello busy; resident memory of the dashboard's processes and of the workload's
workers (where the agent lives) is sampled throughout. Target: the end within 10% of the level
after warm-up. Run by hand (`make bench` leaves it out): it takes ten minutes by default.
"""

from __future__ import annotations

import asyncio
import time

import psutil

from bench.common import median, parser, report, run_sustained, table
from bench.viewer import Viewer
from tests.support import Dashboard

TARGET_GROWTH = 0.10
CONNECTIONS = 8


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


Series = dict[str, list[tuple[float, float]]]


async def _soak(dash: Dashboard, seconds: float, every: float) -> tuple[Series, float, int]:
    """Samples (seconds since start, MB) per group while the load runs; req/s; frames seen."""
    viewer = Viewer()
    await viewer.connect("127.0.0.1", dash.port)
    reading = asyncio.create_task(viewer.run())
    server = dash.get("/api/server").json()
    workers = server["pids"][1:]  # the first is gunicorn's master, which serves nothing
    dashboard = [dash.proc.pid, *(c.pid for c in psutil.Process(dash.proc.pid).children())]
    dashboard = [pid for pid in dashboard if pid not in server["pids"]]
    load = asyncio.create_task(
        asyncio.to_thread(run_sustained, server["url"] + "/hello", seconds, CONNECTIONS)
    )
    samples: Series = {"dashboard": [], "agent (workload workers)": []}
    start = time.monotonic()
    while not load.done():
        t = time.monotonic() - start
        samples["dashboard"].append((t, _rss_mb(dashboard)))
        samples["agent (workload workers)"].append((t, _rss_mb(workers)))
        await asyncio.wait([load], timeout=every)
    result = await load
    viewer.close()
    await reading
    return samples, result.rps, viewer.frames


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=600.0)
    args = p.parse_args(argv)
    seconds = 6.0 if args.quick else args.seconds
    every = max(0.5, seconds / 120)
    dash = Dashboard()
    try:
        dash.wait_serving()
        dash.wait_processes(2)
        samples, rps, frames = asyncio.run(_soak(dash, seconds, every))
    finally:
        dash.stop_leaving_nothing(15)
    warm = seconds * 0.1  # imports, pools and buffers fill during the first tenth
    rows = []
    for group, series in samples.items():
        settled = [mb for t, mb in series if t >= warm] or [mb for _, mb in series]
        tail = settled[-max(1, len(settled) // 10) :]
        base, end = median(settled[: max(1, len(settled) // 10)]), median(tail)
        growth = (end - base) / base if base else float("nan")
        rows.append(
            [
                group,
                series[0][1],
                base,
                end,
                max(mb for _, mb in series),
                f"{growth * 100:+.1f}%",
                f"≤ {TARGET_GROWTH * 100:g}%",
                "met" if growth <= TARGET_GROWTH else "NOT met",
            ]
        )
    columns = [
        "process group",
        "MB at start",
        "MB after warm-up",
        "MB at end",
        "MB peak",
        "growth",
        "target",
        "",
    ]
    body = (
        f"{table(columns, rows)}\n\n"
        f"{seconds:g} s of `/hello` from dashboard.loadgen.sustained ({CONNECTIONS} keep-alive "
        f"connections, {rps:,.0f} req/s on average) at the dashboard's default workload (gunicorn "
        f"gthread 2 × 4, agent on), one viewer connected ({frames:,} frames received). Resident "
        f"memory sampled every {every:g} s; after warm-up = median of the first tenth after the "
        "first tenth, at end = median of the last tenth."
    )
    report("soak", "Soak: memory under steady load", body, argv, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
