"""How big a room one dashboard process holds: N viewers plus slow connections, per server model.

Each session puts a room on one dashboard (N lean Socket.IO viewers over WebSocket and SLOW
connections, half idle TCP, half sending a header a byte a second, in a child process), keeps
its pools busy with a burst, and meanwhile probes it from this process as a presenter would:
`/api/health` every 50 ms, a new page (GET / and a new viewer's snapshot), `POST /api/load`.
The viewers report frames per second and frame delay (arrival minus the frame's `now_ms`, one
host, one monotonic clock). The dashboard's server models run side by side, interleaved round by
round. Targets (issue 10): at 1,000 viewers + 200 slow, health p99 ≤ 200 ms, a page loads, the
presenter's POST is served within 1 s, and every viewer keeps getting frames.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import threading
import time

import psutil
import requests

from bench import viewer_fleet
from bench.common import interleaved, median, parser, percentile, report, table
from bench.viewer import Viewer
from dashboard.files import PROJECT_ROOT
from tests.support import Dashboard

OPTIONS = {  # the dashboard's server models: before (gthread, 100 threads), more threads, green (chosen)
    "gthread-100": ("--dashboard-worker", "gthread"),
    "gthread-1500": ("--dashboard-worker", "gthread", "--dashboard-threads", "1500"),
    "gevent": (),
}
SIZES = (100, 500, 1000)
SLOW = 200
TARGET_SIZE, HEALTH_P99_MS, PRESENTER_MS = 1000, 200.0, 1000.0
PROBE_TIMEOUT_S = 3.0
PROBE_EVERY_S = 0.05
BURST_MS = 100
SLOTS = 8  # the dashboard's default server: 2 workers × 4 threads


def _timed(call) -> float:
    """Milliseconds `call` took, or inf when it failed or timed out."""
    started = time.perf_counter()
    try:
        call()
    except (requests.RequestException, OSError, TimeoutError, ConnectionError):
        return math.inf
    return (time.perf_counter() - started) * 1000


def _health(url: str, stop: threading.Event, out: list[float]) -> None:
    """A monitor's view: a new connection per probe, PROBE_EVERY_S apart."""
    while not stop.wait(PROBE_EVERY_S):
        out.append(
            _timed(lambda: requests.get(url + "/api/health", timeout=PROBE_TIMEOUT_S).raise_for_status())
        )


def _page(dash: Dashboard) -> float:
    """A newcomer: the page's HTML, then its Socket.IO join up to the snapshot."""

    async def join() -> None:
        viewer = Viewer()
        try:
            await viewer.connect("127.0.0.1", dash.port)
            reader = asyncio.create_task(viewer.run())
            while not viewer.snapshots:
                await asyncio.sleep(0.005)
            reader.cancel()
        finally:
            viewer.close()

    def load() -> None:
        requests.get(dash.url + "/", timeout=PROBE_TIMEOUT_S).raise_for_status()
        asyncio.run(asyncio.wait_for(join(), PROBE_TIMEOUT_S))

    return _timed(load)


def _presenter(dash: Dashboard, seconds: float) -> float:
    requests_ = min(500, round(SLOTS * (1 + seconds) * 1000 / BURST_MS))
    body = {"endpoint": "io", "count": requests_, "ms": BURST_MS}
    return _timed(
        lambda: requests.post(dash.url + "/api/load", json=body, timeout=PROBE_TIMEOUT_S).raise_for_status()
    )


def _session(dash: Dashboard, count: int, slow: int, seconds: float) -> dict:
    crowd = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.crowd",
            "--port",
            str(dash.port),
            "--viewers",
            str(count),
            "--slow",
            str(slow),
        ],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    worker = psutil.Process(dash.proc.pid).children()[0]
    try:
        ready = crowd.stdout.readline().split()
        assert ready and ready[0] == "ready", ready
        stop, health = threading.Event(), []
        prober = threading.Thread(target=_health, args=(dash.url, stop, health))
        crowd.stdin.write("record\n")
        crowd.stdin.flush()
        cpu0, t0, load = sum(worker.cpu_times()[:2]), time.monotonic(), os.getloadavg()[0]
        prober.start()
        presenter = _presenter(dash, seconds)  # the burst keeps a frame due every 50 ms
        time.sleep(max(0.0, seconds / 2 - (time.monotonic() - t0)))
        page = _page(dash)
        time.sleep(max(0.0, seconds - (time.monotonic() - t0)))
        stop.set()
        prober.join()
        dash_cpu = (sum(worker.cpu_times()[:2]) - cpu0) / (time.monotonic() - t0)
        crowd.stdin.write("stop\n")
        crowd.stdin.flush()
        room = json.loads(crowd.stdout.readline())
    finally:
        crowd.kill()
        crowd.wait()
    fps = room["frames_per_viewer_s"]
    return {
        "load": load,
        "joined": room["joined"],
        "join_s": float(ready[2]),
        "slow": room["slow"],
        "health_p50": percentile(health, 50),
        "health_p99": percentile(health, 99),
        "health_failed": sum(1 for ms in health if math.isinf(ms)) / max(1, len(health)),
        "page": page,
        "presenter": presenter,
        "fps": median(fps),
        "fps_min": min(fps, default=0.0),
        "delay_p50": percentile(room["latencies_ms"], 50),
        "delay_p95": percentile(room["latencies_ms"], 95),
        "dash_cpu": dash_cpu,
        "crowd_cpu": room["cpu"],
    }


def measure(
    rounds: int, seconds: float, sizes: tuple[int, ...], slow: int, models: list[str]
) -> dict[tuple, list[dict]]:
    dashboards = {name: Dashboard(*OPTIONS[name]) for name in models}
    try:
        for dash in dashboards.values():
            dash.wait_serving()
            dash.wait_processes(2)

        def one(name: str, count: int) -> dict:
            result = _session(dashboards[name], count, slow, seconds)
            time.sleep(2.0)  # the burst drains and the dashboard lets the room go
            return result

        variants = {(name, n): lambda name=name, n=n: one(name, n) for n in sizes for name in models}
        return interleaved(rounds, variants)
    finally:
        for dash in dashboards.values():
            dash.stop_leaving_nothing(20)


def _ms(value: float) -> str | float:
    return f"> {PROBE_TIMEOUT_S * 1000:,.0f}" if math.isinf(value) else value


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--seconds", type=float, default=6.0, help="how long each session probes and records")
    p.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    p.add_argument("--slow", type=int, default=SLOW)
    p.add_argument("--models", nargs="+", choices=list(OPTIONS), default=list(OPTIONS))
    p.add_argument(
        "--processes",
        type=int,
        default=None,
        metavar="N",
        help="instead: a primary on Redis and N viewer-only processes behind nginx (bench/viewer_fleet.py)",
    )
    p.add_argument("--per-process", type=int, default=500, help="with --processes: viewers on each process")
    p.add_argument("--proxied", type=int, default=300, help="with --processes: viewers through nginx")
    p.add_argument(
        "--rooms-nice",
        type=int,
        default=viewer_fleet.ROOMS_NICE,
        help="with --processes: the rooms' niceness (default %(default)s: the servers first, as with phones)",
    )
    p.add_argument(
        "--deflate",
        action="store_true",
        help="with --processes: viewers offer permessage-deflate, as browsers do",
    )
    args = p.parse_args(argv)
    if args.processes is not None:
        quick = (
            (args.processes, 5, 5, 1.5)
            if args.quick
            else (args.processes, args.per_process, args.proxied, args.seconds)
        )
        rooms = viewer_fleet.Rooms(args.rooms_nice, args.deflate)
        text = viewer_fleet.body(*quick, quick=args.quick, rooms=rooms)
        report(
            "viewers", "Viewers across processes: a primary, Redis, nginx", text, argv, args, "viewer-fleet"
        )
        return 0
    rounds, seconds, sizes, slow = (
        (1, 1.5, (5,), 4) if args.quick else (args.rounds, args.seconds, args.sizes, args.slow)
    )
    load = os.getloadavg()
    runs = measure(rounds, seconds, tuple(sizes), slow, args.models)
    rows = []
    for (name, n), results in runs.items():
        med = {key: median([r[key] for r in results]) for key in results[0]}
        met = ""
        if n == TARGET_SIZE:
            ok = (
                med["health_p99"] <= HEALTH_P99_MS
                and med["presenter"] <= PRESENTER_MS
                and not math.isinf(med["page"])
                and min(r["fps_min"] for r in results) > 0
                and min(r["joined"] for r in results) == n
            )
            met = "met" if ok else "NOT met"
        rows.append(
            [
                f"{name} ({' '.join(OPTIONS[name]) or 'default'})",
                n,
                f"{min(r['joined'] for r in results)} / {min(r['slow'] for r in results)}",
                med["join_s"],
                _ms(med["health_p50"]),
                _ms(med["health_p99"]),
                f"{med['health_failed']:.0%}",
                _ms(med["page"]),
                _ms(med["presenter"]),
                med["fps"],
                min(r["fps_min"] for r in results),
                med["delay_p50"],
                med["delay_p95"],
                f"{med['dash_cpu']:.0%} / {med['crowd_cpu']:.0%}",
                med["load"],
                met,
            ]
        )
    columns = [
        "dashboard server (run.py flags)",
        "viewers",
        "joined / slow held",
        "room joined in s",
        "health p50 ms",
        "health p99 ms",
        "health failed",
        "new page ms",
        "presenter POST ms",
        "frames/s per viewer",
        "min frames/s",
        "frame delay p50 ms",
        "p95 ms",
        "core: dashboard / room",
        "load avg",
        "",
    ]
    body = (
        f"{table(columns, rows)}\n\n"
        f"Load average at the start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores shared with other "
        f"sessions). One dashboard per server model, all three up at once (`run.py`, default gthread 2 × 4 "
        f"workload); each session adds {slow} slow connections (half idle TCP, half a header byte a second) "
        "then N viewers (raw WebSocket Socket.IO clients, bench/viewer.py) on one asyncio loop in a child "
        "process (bench/crowd.py; 50 joins at a time, 20 s to join), then probes for "
        f"{seconds:g} s from this process: `/api/health` every {PROBE_EVERY_S * 1000:.0f} ms on a new "
        f"connection ({PROBE_TIMEOUT_S:g} s timeout: failed), one presenter `POST /api/load` (an io burst of "
        f"{BURST_MS} ms requests that keeps frames due every 50 ms), one new page at mid-session (GET / "
        "then a new viewer's snapshot). Frame delay: arrival minus the frame's `now_ms`. `min frames/s`: "
        "the slowest joined viewer over all rounds. `room joined in s`: from the first slow connection to "
        "the last viewer's snapshot (or the 20 s deadline). Core: CPU of the dashboard's worker "
        "process and of the "
        "room's process over the session; load avg: the machine's 1-minute load average as it began. "
        f"{rounds} rounds, model × size interleaved (ABBA); medians over "
        f"rounds. Target at {TARGET_SIZE:,} viewers: all join, health p99 ≤ {HEALTH_P99_MS:g} ms, page "
        f"loads, presenter ≤ {PRESENTER_MS:g} ms, every viewer gets frames."
    )
    report("viewers", "Viewers: a room on one dashboard", body, argv, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
