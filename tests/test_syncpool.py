"""The pool an ASGI app runs its sync views on, read on the event loop (issue 19): its size is the
server's slots, and the calls waiting for one of its threads are the worker's queue."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import starlette  # noqa: F401  (imported, as a Starlette or FastAPI app has it)
from anyio import to_thread

from threadpulse_agent import syncpool


async def _queued_behind_a_full_pool(waiting, run_blocked, size: int) -> int:
    """Fill the pool with `size` blocked calls and add one: how many wait, once the count has come
    down to one (it only falls, as threads take their calls, to the one no thread is left for)."""
    release = threading.Event()
    calls = [asyncio.ensure_future(run_blocked(release.wait)) for _ in range(size + 1)]
    try:
        deadline = time.monotonic() + 10  # polled on the loop: a thread of the pool would be one of them
        while waiting() != 1:
            assert time.monotonic() < deadline, f"{waiting()} calls waiting, not 1"
            await asyncio.sleep(0.01)
        return waiting()
    finally:
        release.set()
        await asyncio.gather(*calls)


def test_under_starlette_the_pool_is_anyios_limiter_and_its_waiting_calls_the_queue():
    """FastAPI runs a `def` view through anyio's default limiter: 40 threads unless the app says."""

    async def scenario() -> tuple[int | None, int, int]:
        to_thread.current_default_thread_limiter().total_tokens = 3  # as an app may set it
        size, waiting = syncpool.read(asyncio.get_running_loop())
        idle = waiting()
        return size, idle, await _queued_behind_a_full_pool(waiting, to_thread.run_sync, 3)

    assert asyncio.run(scenario()) == (3, 0, 1)


def test_anyios_default_limiter_has_40_threads():
    """A fresh loop's limiter: the slots a FastAPI worker draws."""

    async def scenario() -> int | None:
        return syncpool.read(asyncio.get_running_loop())[0]

    assert asyncio.run(scenario()) == 40


def test_without_starlette_the_pool_is_the_loops_default_executor(monkeypatch):
    """Quart runs a sync view with `loop.run_in_executor(None, ...)`: the loop's default executor,
    or the size asyncio would make it before the first such call."""
    monkeypatch.delitem(sys.modules, "starlette")

    async def scenario() -> tuple[int | None, int | None, int]:
        loop = asyncio.get_running_loop()
        before = syncpool.read(loop)[0]
        loop.set_default_executor(ThreadPoolExecutor(2))
        size, waiting = syncpool.read(loop)
        return before, size, await _queued_behind_a_full_pool(waiting, _in_default_executor, 2)

    assert asyncio.run(scenario()) == (ThreadPoolExecutor()._max_workers, 2, 1)


async def _in_default_executor(call):
    return await asyncio.get_running_loop().run_in_executor(None, call)
