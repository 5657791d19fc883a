"""How many viewers one dashboard process serves: N Socket.IO clients receiving live frames.

While a burst keeps the pools changing (so a frame is due every 50 ms), N viewers listen; a
frame's latency is its arrival minus the `now_ms` it was cut at (one host, one monotonic clock).
Target: p95 ≤ 150 ms at 200 viewers; 50, 200 and 500 are reported, interleaved round by round.
"""

from __future__ import annotations

import asyncio
import time

from bench.common import interleaved, median, parser, percentile, report, table
from bench.viewer import Viewer
from tests.support import Dashboard

SIZES = (50, 200, 500)
TARGET_SIZE, TARGET_P95_MS = 200, 150.0
CONNECT_AT_ONCE = 25
BURST_MS = 100
WARM_S = 0.7
SLOTS = 8  # the dashboard's default server: 2 workers × 4 threads


async def _session(dash: Dashboard, count: int, seconds: float) -> dict:
    """Connect `count` viewers, keep the pools busy, record frames for `seconds`."""
    viewers = [Viewer() for _ in range(count)]
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    failed = 0

    async def join(viewer: Viewer) -> asyncio.Task | None:
        nonlocal failed
        async with gate:
            try:
                await asyncio.wait_for(viewer.connect("127.0.0.1", dash.port), 10)
            except (OSError, TimeoutError, ConnectionError):
                failed += 1
                return None
        return asyncio.create_task(viewer.run())

    readers = [t for t in await asyncio.gather(*(join(v) for v in viewers)) if t is not None]
    deadline = time.monotonic() + 30
    while sum(1 for v in viewers if v.snapshots) < len(readers) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    # Work for the pools until the recording ends: the burst drains as the session does.
    requests = min(500, round(SLOTS * (WARM_S + seconds) * 1000 / BURST_MS))
    await asyncio.to_thread(dash.fire, "io", requests, BURST_MS)
    await asyncio.sleep(WARM_S)  # the burst's process starts and the pools fill
    for v in viewers:
        v.recording = True
    await asyncio.sleep(seconds)
    for v in viewers:
        v.recording = False
        v.close()
    await asyncio.gather(*readers, return_exceptions=True)
    latencies = [ms for v in viewers for ms in v.latencies_ms]
    return {
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "max": max(latencies, default=float("nan")),
        "fps": sum(len(v.latencies_ms) for v in viewers) / max(1, len(readers)) / seconds,
        "failed": failed,
    }


def measure(rounds: int, seconds: float, sizes: tuple[int, ...]) -> dict[int, list[dict]]:
    dash = Dashboard("--viewer-threads", str(max(sizes) + 50))
    try:
        dash.wait_serving()
        dash.wait_processes(2)

        def one(count: int) -> dict:
            result = asyncio.run(_session(dash, count, seconds))
            time.sleep(1.0)  # the burst drains and the dashboard lets the viewers go
            return result

        return interleaved(rounds, {n: lambda n=n: one(n) for n in sizes})
    finally:
        dash.stop_leaving_nothing(15)


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=4.0, help="how long each session records frames")
    args = p.parse_args(argv)
    rounds, seconds, sizes = (1, 1.0, (5, 20)) if args.quick else (args.rounds, args.seconds, SIZES)
    runs = measure(rounds, seconds, sizes)
    rows = []
    for n, results in runs.items():
        p95 = median([r["p95"] for r in results])
        verdict = ("met" if p95 <= TARGET_P95_MS else "NOT met") if n == TARGET_SIZE else ""
        rows.append(
            [
                n,
                median([r["p50"] for r in results]),
                p95,
                median([r["max"] for r in results]),
                median([r["fps"] for r in results]),
                sum(r["failed"] for r in results),
                f"p95 ≤ {TARGET_P95_MS:g} ms" if n == TARGET_SIZE else "",
                verdict,
            ]
        )
    columns = ["viewers", "p50 ms", "p95 ms", "max ms", "frames/s per viewer", "failed to join", "target", ""]
    body = (
        f"{table(columns, rows)}\n\n"
        "One dashboard (`run.py`, default gunicorn gthread 2 × 4 workload) with "
        f"`--viewer-threads {max(sizes) + 50}`; viewers are raw WebSocket Socket.IO clients on one "
        "asyncio loop in the benchmark process (bench/viewer.py); a burst of io "
        f"{BURST_MS} ms requests keeps frames due every 50 ms. Latency: frame arrival minus its "
        f"`now_ms`. {rounds} rounds of {seconds:g} s per size, interleaved; medians of the per-round "
        "percentiles. Nothing is pinned: dashboard, workload and viewers share both cores."
    )
    report("viewers", "Viewers", body, argv, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
