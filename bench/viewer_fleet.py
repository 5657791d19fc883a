"""Rooms beyond one process (`bench.viewers --processes N`): a primary dashboard on a real Redis,
N viewer-only processes relaying its frames, and a real round-robin nginx in front of them.

One room (bench/crowd.py, a child process each) joins every viewer-only process directly and one
more joins through nginx; a burst fired on the primary keeps frames due every 50 ms while
`/api/health` is probed through nginx. Redis's CPU (psutil, from /proc of redis-server) over the
session is divided by the frames the primary published in it; each viewer-only process's CPU
(its gunicorn worker's) by the messages it sent, frames × its viewers, direct and through nginx:
a figure the machine's load moves far less than the latencies. Targets (issue 21): every viewer
gets frames, health through nginx at p99 ≤ 200 ms.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from typing import NamedTuple

import psutil
import requests

from bench.common import median, percentile, table
from dashboard.files import PROJECT_ROOT
from tests.proxies import nginx_round_robin, redis_server, viewer_process
from tests.support import Dashboard

PROBE_TIMEOUT_S = 3.0
PROBE_EVERY_S = 0.05
BURST_MS = 100
SLOTS = 8  # the primary's default server: 2 workers × 4 threads
HEALTH_P99_MS = 200.0
# The rooms stand for a room's phones, which take none of the server's cores; on this one machine
# they share them, so they run at the lowest priority and the servers come first. Their own
# frames and delays are still measured; `--rooms-nice 0` puts them level with the servers.
ROOMS_NICE = 19


class Rooms(NamedTuple):
    """How the rooms run: their niceness, and whether their viewers offer permessage-deflate."""

    nice: int = ROOMS_NICE
    deflate: bool = False


def _crowd(port: int, count: int, rooms: Rooms) -> subprocess.Popen:
    argv = ["nice", "-n", str(rooms.nice), sys.executable, "-m", "bench.crowd", "--port", str(port)]
    argv += ["--viewers", str(count), *(["--deflate"] if rooms.deflate else [])]
    return subprocess.Popen(argv, cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _tell(crowds: list[subprocess.Popen], line: str) -> None:
    for crowd in crowds:
        crowd.stdin.write(line + "\n")
        crowd.stdin.flush()


def _health(url: str, stop: threading.Event, out: list[float]) -> None:
    while not stop.wait(PROBE_EVERY_S):
        started = time.perf_counter()
        try:
            requests.get(url + "/api/health", timeout=PROBE_TIMEOUT_S).raise_for_status()
            out.append((time.perf_counter() - started) * 1000)
        except requests.RequestException:
            out.append(math.inf)


def session(processes: int, per_process: int, proxied: int, seconds: float, rooms: Rooms) -> dict:
    """One fleet, one session: the rooms joined, a burst on the primary, the figures."""
    with ExitStack() as stack:
        queue, redis_proc = stack.enter_context(redis_server())
        primary = Dashboard("--message-queue", queue)
        stack.callback(primary.stop_leaving_nothing, 20)
        primary.wait_serving()
        primary.wait_processes(2)
        viewers = []
        for _ in range(processes):
            viewers.append(viewer_process(queue, primary, 60))
            stack.callback(viewers[-1].stop_leaving_nothing, 20)
        proxy = stack.enter_context(nginx_round_robin([v.url.removeprefix("http://") for v in viewers]))
        ports = [v.port for v in viewers] + [int(proxy.rsplit(":", 1)[1])]
        crowds = [_crowd(port, per_process, rooms) for port in ports[:-1]] + [
            _crowd(ports[-1], proxied, rooms)
        ]
        for crowd in crowds:
            stack.callback(crowd.wait)
            stack.callback(crowd.kill)
        ready = [crowd.stdout.readline().split() for crowd in crowds]
        assert all(r and r[0] == "ready" for r in ready), ready
        redis_cpu = psutil.Process(redis_proc.pid)
        workers = [psutil.Process(v.proc.pid).children()[0] for v in viewers]  # run.py is the master
        stop, health = threading.Event(), []
        prober = threading.Thread(target=_health, args=(proxy, stop, health))
        _tell(crowds, "record")
        frames0 = primary.get("/api/health").json()["frames_sent"]
        sent0 = [v.get("/api/health").json()["frames_sent"] for v in viewers]
        worker0 = [sum(w.cpu_times()[:2]) for w in workers]
        cpu0, t0, load = sum(redis_cpu.cpu_times()[:2]), time.monotonic(), os.getloadavg()[0]
        prober.start()
        count = min(500, round(SLOTS * (1 + seconds) * 1000 / BURST_MS))
        primary.post("/api/load", {"endpoint": "io", "count": count, "ms": BURST_MS}).raise_for_status()
        time.sleep(seconds)
        stop.set()
        prober.join()
        redis_s = sum(redis_cpu.cpu_times()[:2]) - cpu0
        worker_s = [sum(w.cpu_times()[:2]) - c for w, c in zip(workers, worker0, strict=True)]
        messages = [_messages_since(v, s) for v, s in zip(viewers, sent0, strict=True)]
        frames = primary.get("/api/health").json()["frames_sent"] - frames0
        elapsed = time.monotonic() - t0
        _tell(crowds, "stop")
        rooms = [json.loads(crowd.stdout.readline()) for crowd in crowds]
    return {
        "load": load,
        "rooms": rooms,
        "health_p50": percentile(health, 50),
        "health_p99": percentile(health, 99),
        "health_failed": sum(1 for ms in health if math.isinf(ms)) / max(1, len(health)),
        "frames": frames,
        "frames_s": frames / elapsed,
        "redis_ms_per_1000": 1e6 * redis_s / frames if frames else math.nan,
        "redis_cpu": redis_s / elapsed,
        "us_per_message": [1e6 * s / m if m else math.nan for s, m in zip(worker_s, messages, strict=True)],
        "process_cpu": [s / elapsed for s in worker_s],
    }


def _messages_since(viewer: Dashboard, frames0: int) -> int:
    """Messages a viewer-only process sent its viewers since it had sent `frames0` frames: each
    frame since, to each of its viewers (the room stays whole while it is measured)."""
    health = viewer.get("/api/health").json()
    return (health["frames_sent"] - frames0) * health["viewers"]


def body(processes: int, per_process: int, proxied: int, seconds: float, quick: bool, rooms: Rooms) -> str:
    """Run the session and say what it measured, as a table and how it was measured."""
    load = os.getloadavg()
    result = session(processes, per_process, proxied, seconds, rooms)
    rows = []
    names = [f"viewer-only process {i + 1} (direct)" for i in range(processes)] + ["through nginx"]
    costs = [
        (f"{us:.0f}", f"{cpu:.0%}")
        for us, cpu in zip(result["us_per_message"], result["process_cpu"], strict=True)
    ] + [("—", "—")]  # nginx's room is spread over the processes above, and counted there
    for name, room, want, (us, cpu) in zip(
        names, result["rooms"], [per_process] * processes + [proxied], costs, strict=True
    ):
        fps = room["frames_per_viewer_s"]
        rows.append(
            [
                name,
                f"{room['joined']} / {want}",
                median(fps),
                min(fps, default=0.0),
                percentile(room["latencies_ms"], 50),
                percentile(room["latencies_ms"], 95),
                f"{room['cpu']:.0%}",
                cpu,
                us,
            ]
        )
    everyone = sum(r["joined"] for r in result["rooms"]) == processes * per_process + proxied
    all_frames = all(min(r["frames_per_viewer_s"], default=0.0) > 0 for r in result["rooms"])
    met = everyone and all_frames and result["health_p99"] <= HEALTH_P99_MS
    columns = [
        "room",
        "joined / asked",
        "frames/s per viewer",
        "min frames/s",
        "delay p50 ms",
        "p95 ms",
        "room core",
        "process core",
        "process CPU µs per message",
    ]
    health = (
        f"`/api/health` through nginx: p50 {result['health_p50']:.1f} ms, p99 {result['health_p99']:.1f} ms,"
        f" {result['health_failed']:.0%} failed. Frames published by the primary: {result['frames']}"
        f" ({result['frames_s']:.1f}/s); Redis's CPU: {result['redis_ms_per_1000']:.1f} ms per 1,000 frames"
        f" ({result['redis_cpu']:.1%} of a core). Target (every viewer gets frames, health p99 ≤"
        f" {HEALTH_P99_MS:g} ms): {'met' if met else 'NOT met'}."
    )
    return (
        f"{table(columns, rows)}\n\n{health}\n\n"
        f"Load average at the start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores shared with other"
        f" sessions{'; the smoke variant' if quick else ''}). One Redis (redis-server, no persistence), a"
        " primary (`run.py --message-queue`, default gthread 2 × 4 workload), "
        f"{processes} viewer-only processes (`run.py --viewers-only`, gevent) and nginx round robin over them"
        " (tests/proxies.py's config), all on this machine; a room of raw WebSocket Socket.IO viewers"
        f" (bench/crowd.py, a child process each, at nice {rooms.nice}: phones elsewhere take none of the"
        f" server's cores{'; offering permessage-deflate, as browsers do' if rooms.deflate else ''})"
        " joins each viewer-only process directly and one more through nginx; then an io"
        " burst on the primary keeps frames due every 50 ms for"
        f" {seconds:g} s while `/api/health` is probed through nginx every {PROBE_EVERY_S * 1000:.0f} ms"
        f" ({PROBE_TIMEOUT_S:g} s timeout: failed). Frame delay: arrival minus the frame's `now_ms`"
        " (one host, one monotonic clock). Process core: each viewer-only process's gunicorn worker over the"
        " session; CPU per message: that, over the frames it sent times its viewers (its direct room and its"
        " share of nginx's). One session, not interleaved: it compares nothing."
    )
