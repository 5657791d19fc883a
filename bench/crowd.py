"""A room in one process: N lean viewers plus slow connections, on one asyncio loop.

Run by bench.viewers as a child, so that the probes it times (health, page, presenter) do not
queue behind this loop. Protocol on stdin/stdout, one line each: it prints `ready` once the room
has joined (or the join deadline passed), records frames from the `record` line it reads until
`stop`, then prints its figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time

from bench.viewer import Viewer

CONNECT_AT_ONCE = 50
JOIN_DEADLINE_S = 20.0
DRIBBLE_S = 1.0  # a slow client's next header byte
SLOW_HEADER = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"x" * 4000


async def _slow(port: int, count: int) -> list[asyncio.Task]:
    """Half the connections idle (never a byte), half sending a header a byte a second."""

    async def dribble(writer: asyncio.StreamWriter) -> None:
        for byte in SLOW_HEADER:
            if writer.is_closing():  # the server gave up on it: writing on would only warn
                return
            writer.write(bytes([byte]))
            await asyncio.sleep(DRIBBLE_S)

    tasks = []
    for i in range(count):
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        except (OSError, TimeoutError):
            continue
        tasks.append(asyncio.create_task(dribble(writer) if i % 2 else asyncio.sleep(3600)))
    return tasks


async def _join(viewers: list[Viewer], port: int) -> list[asyncio.Task]:
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    deadline = time.monotonic() + JOIN_DEADLINE_S

    async def join(viewer: Viewer) -> asyncio.Task | None:
        async with gate:
            left = deadline - time.monotonic()
            try:
                await asyncio.wait_for(viewer.connect("127.0.0.1", port), max(0.1, left))
            except (OSError, TimeoutError, ConnectionError):
                viewer.close()
                return None
        return asyncio.create_task(viewer.run())

    readers = [t for t in await asyncio.gather(*(join(v) for v in viewers)) if t is not None]
    while sum(1 for v in viewers if v.snapshots) < len(readers) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return readers


async def _line() -> str:
    return (await asyncio.to_thread(sys.stdin.readline)).strip()


async def room(port: int, count: int, slow: int, deflate: bool = False) -> dict:
    started = time.monotonic()
    slow_tasks = await _slow(port, slow)
    viewers = [Viewer(deflate) for _ in range(count)]
    readers = await _join(viewers, port)
    joined = sum(1 for v in viewers if v.snapshots)
    print(f"ready {joined} {time.monotonic() - started:.1f}", flush=True)
    await _line()  # record
    cpu0, t0 = _cpu_s(), time.monotonic()
    for v in viewers:
        v.recording = True
    await _line()  # stop
    seconds, cpu = time.monotonic() - t0, _cpu_s() - cpu0
    for v in viewers:
        v.recording = False
        v.close()
    for task in slow_tasks:
        task.cancel()
    await asyncio.gather(*readers, *slow_tasks, return_exceptions=True)
    return {
        "joined": joined,
        "slow": len(slow_tasks),
        "latencies_ms": [round(ms, 1) for v in viewers for ms in v.latencies_ms],
        "frames_per_viewer_s": [len(v.latencies_ms) / seconds for v in viewers if v.snapshots],
        "cpu": cpu / seconds,
    }


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--viewers", type=int, required=True)
    p.add_argument("--slow", type=int, default=0)
    p.add_argument("--deflate", action="store_true", help="viewers offer permessage-deflate, as browsers do")
    args = p.parse_args()
    print(json.dumps(asyncio.run(room(args.port, args.viewers, args.slow, args.deflate))), flush=True)


if __name__ == "__main__":
    main()
