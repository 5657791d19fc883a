"""Notices when one green thread or asyncio task keeps its process's only OS thread to itself.

Green threads and asyncio tasks take turns only when one of them yields (I/O, sleep, await). A
request that computes never yields, and every other one of the process stalls behind it: their
requests want to run and cannot, which the page draws as "starved". A heartbeat on the hub (or
event loop) ticks every 10 ms; the reporter, a real OS thread, sees the ticks stop and names the
task that holds the hub.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from threadpulse_agent.protocol import stall_end_event, stall_event
from threadpulse_agent.tasks import TaskRegistry, os_threading

TICK_S = 0.01
STALL_NS = 100_000_000  # ten missed ticks: no scheduler jitter stays silent this long


class HubWatch:
    """A reporter poller emitting `stall` when a task blocks the hub, and `stall_end` after it."""

    def __init__(self, running: Callable[[], int | None]) -> None:
        self.running = running
        self.last_beat_ns = time.monotonic_ns()
        self._stalled: int | None = None

    def beat(self) -> None:
        self.last_beat_ns = time.monotonic_ns()

    def poll(self, now_ns: int) -> list[list]:
        last = self.last_beat_ns
        if self._stalled is None:
            if now_ns - last < STALL_NS:
                return []
            blocker = self.running()
            if blocker is None:  # not a request of ours (the server's own code, or start-up)
                return []
            self._stalled = blocker
            return [stall_event(blocker, last)]
        if now_ns - last < STALL_NS:
            blocker, self._stalled = self._stalled, None
            return [stall_end_event(blocker, last)]
        return []


def green_pollers(registry: TaskRegistry) -> list[Callable[[int], list[list]]]:
    """Under eventlet's or gevent's monkey patching, a started HubWatch's poller; else none."""
    if os_threading() is threading:
        return []
    watch = HubWatch(registry.running_green)

    def heartbeat() -> None:
        while True:
            watch.beat()
            time.sleep(TICK_S)  # patched: yields, and returns only when the hub runs again

    threading.Thread(target=heartbeat, name="threadpulse-heartbeat", daemon=True).start()  # green
    return [watch.poll]


class LoopWatch(HubWatch):
    """HubWatch for an asyncio event loop; the heartbeat starts with the loop's first request."""

    def __init__(self) -> None:
        super().__init__(self._running)
        self.loop: asyncio.AbstractEventLoop | None = None

    def attach(self) -> None:
        """Call from a coroutine: start ticking on the running loop (once)."""
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
            self._heartbeat_task = self.loop.create_task(self._heartbeat())  # the loop holds tasks weakly

    async def _heartbeat(self) -> None:
        while True:
            self.beat()
            await asyncio.sleep(TICK_S)

    def _running(self) -> int | None:
        task = asyncio.current_task(self.loop) if self.loop is not None else None
        return getattr(task, "_threadpulse_id", None)
